package config

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxVisits bounds the nodes one decode walks, so aliases of aliases cannot
// blow up (a billion laughs); maxDepth bounds nesting, so an alias inside its
// own anchor cannot recurse for ever.
const (
	maxVisits = 1 << 20
	maxDepth  = 32
)

// decoder fills a Config from a yaml.v3 node tree, expanding ${ENV} in every
// scalar it reads, and collects every problem with its line and key path.
type decoder struct {
	file   string
	env    func(string) (string, bool)
	errs   Errors
	lines  map[string]int  // key path -> line of its key (or list item)
	bad    map[string]bool // key paths whose value could not be decoded
	visits int
	depth  int
}

// nodeDecoder is a type that decodes itself (Vehicles).
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

// defaulter is a list element that starts from defaults (Schedule).
type defaulter interface{ setDefaults() }

var durationType = reflect.TypeFor[time.Duration]()

func newDecoder(file string, env func(string) (string, bool)) *decoder {
	return &decoder{file: file, env: env, lines: map[string]int{}, bad: map[string]bool{}}
}

// fail records a problem with the value at path, on the line of its key.
func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	line := d.lines[path]
	if line == 0 && n != nil {
		line = n.Line
	}
	d.bad[path] = true
	d.report(line, path, format, args...)
}

// report records a problem at line.
func (d *decoder) report(line int, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: path, Problem: fmt.Sprintf(format, args...)})
}

// resolve follows aliases and counts visits; nil means stop.
func (d *decoder) resolve(n *yaml.Node, path string) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.visits++
	if d.visits == maxVisits {
		d.fail(n, path, "document too large or too many aliases")
	}
	if n == nil || d.visits >= maxVisits {
		return nil
	}
	return n
}

// enter counts one level of nesting; false (after reporting) when too deep.
// Every enter that returns true is paired with a leave.
func (d *decoder) enter(n *yaml.Node, path string) bool {
	if d.depth >= maxDepth {
		d.fail(n, path, "nested too deeply (an alias inside its own anchor?)")
		return false
	}
	d.depth++
	return true
}

func (d *decoder) leave() { d.depth-- }

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// value decodes n into v. A null keeps v's current (default) value.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if n = d.resolve(n, path); n == nil || isNull(n) || !d.enter(n, path) {
		return
	}
	defer d.leave()
	if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
		nd.decodeNode(d, n, path)
		return
	}
	if v.Type() == durationType {
		if s, ok := d.scalar(n, path, "a duration"); ok {
			dur, err := time.ParseDuration(strings.TrimSpace(s))
			if err != nil {
				d.fail(n, path, "invalid duration %q (want a Go duration such as 90s, 5m or 1h30m)", truncate(s, 40))
				return
			}
			v.SetInt(int64(dur))
		}
		return
	}
	switch v.Kind() {
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Int:
		if s, ok := d.scalar(n, path, "an integer"); ok {
			i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				d.fail(n, path, "want an integer, got %q", truncate(s, 40))
				return
			}
			v.SetInt(i)
		}
	case reflect.Bool:
		if s, ok := d.scalar(n, path, "a boolean"); ok {
			b, err := strconv.ParseBool(strings.TrimSpace(s))
			if err != nil {
				d.fail(n, path, "want true or false, got %q", truncate(s, 40))
				return
			}
			v.SetBool(b)
		}
	case reflect.Float64:
		if s, ok := d.scalar(n, path, "a number"); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				d.fail(n, path, "want a number, got %q", truncate(s, 40))
				return
			}
			v.SetFloat(f)
		}
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Slice:
		d.list(n, v, path)
	default:
		panic(fmt.Sprintf("config: no decoder for %s", v.Type()))
	}
}

// scalar returns n's value with ${ENV} expanded; want names the expected
// type for the error when n is not a scalar.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "want %s, got %s", want, describe(n))
		return "", false
	}
	s, problems := expand(n.Value, d.env)
	for _, p := range problems {
		d.fail(n, path, "%s", p)
	}
	return s, len(problems) == 0
}

// mapping decodes a YAML mapping into the struct v, field by yaml tag.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping, got %s", describe(n))
		return
	}
	fields := yamlFields(v.Type())
	for _, p := range d.pairs(n, path) {
		key := p.key.Value
		sub := joinKey(path, key)
		i, ok := fields[key]
		switch {
		case !ok && path == "" && strings.HasPrefix(key, "x-"):
			continue // extension key, a place for anchors
		case !ok:
			d.report(p.key.Line, sub, "%s", unknownKey(key, fields))
			continue
		}
		d.lines[sub] = p.key.Line
		if sep := v.Type().Field(i).Tag.Get("join"); sep != "" {
			d.joined(p.value, v.Field(i), sub, sep)
			continue
		}
		d.value(p.value, v.Field(i), sub)
	}
}

// joined decodes a string field tagged `join:"sep"` that YAML may also give
// as a list of strings: the items, none containing sep, joined with sep.
func (d *decoder) joined(n *yaml.Node, v reflect.Value, path, sep string) {
	r := d.resolve(n, path)
	if r == nil || r.Kind != yaml.SequenceNode {
		d.value(n, v, path)
		return
	}
	if len(r.Content) == 0 {
		d.fail(r, path, "empty list (leave the key out for the default)")
		return
	}
	var items []string
	d.value(r, reflect.ValueOf(&items).Elem(), path)
	ok := true
	for i, s := range items {
		sub := fmt.Sprintf("%s[%d]", path, i)
		if strings.Contains(s, sep) {
			d.fail(nil, sub, "one item per list entry (no %q)", sep)
		}
		ok = ok && !d.bad[sub]
	}
	if !ok {
		d.bad[path] = true
		return
	}
	v.SetString(strings.Join(items, sep))
}

type pair struct{ key, value *yaml.Node }

// pairs lists the entries of mapping n: its own keys (a repeated key is an
// error), then the keys of "<<" merges that are not overridden.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	var own, merged []pair
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge" {
			merged = append(merged, d.merge(val, path)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.report(k.Line, path, "a key must be a string, got %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.report(k.Line, joinKey(path, k.Value), "duplicate key (first at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		own = append(own, pair{k, val})
	}
	for _, p := range merged {
		if _, dup := seen[p.key.Value]; !dup {
			seen[p.key.Value] = p.key.Line
			own = append(own, p)
		}
	}
	return own
}

// merge returns the pairs a "<<" value brings: one mapping or a list of them,
// earlier ones winning.
func (d *decoder) merge(n *yaml.Node, path string) []pair {
	if n = d.resolve(n, path); n == nil || !d.enter(n, path) {
		return nil
	}
	defer d.leave()
	switch n.Kind {
	case yaml.MappingNode:
		return d.pairs(n, path)
	case yaml.SequenceNode:
		var out []pair
		for _, item := range n.Content {
			if item = d.resolve(item, path); item == nil {
				return out
			}
			if item.Kind != yaml.MappingNode {
				d.report(item.Line, path, "<< merges a mapping or a list of mappings, got %s", describe(item))
				continue
			}
			out = append(out, d.pairs(item, path)...)
		}
		return out
	}
	d.report(n.Line, path, "<< merges a mapping or a list of mappings, got %s", describe(n))
	return nil
}

// list decodes a YAML sequence into the slice v.
func (d *decoder) list(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "want a list, got %s", describe(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for i, item := range n.Content {
		sub := fmt.Sprintf("%s[%d]", path, i)
		d.lines[sub] = item.Line
		elem := reflect.New(v.Type().Elem())
		if def, ok := elem.Interface().(defaulter); ok {
			def.setDefaults()
		}
		d.value(item, elem.Elem(), sub)
		out = reflect.Append(out, elem.Elem())
	}
	v.Set(out)
}

// yamlFields maps the yaml tag names of struct t to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			out[name] = i
		}
	}
	return out
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names what n is, for "want X, got Y".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "null"
		}
		return strconv.Quote(truncate(n.Value, 40))
	}
	return "nothing"
}

// unknownKey explains an unknown key: the closest known key when it looks
// like a typo, else the known keys.
func unknownKey(key string, fields map[string]int) string {
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	slices.Sort(known)
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(key), k); d < bestDist && d < len(k)/2+1 {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown key %q (did you mean %q?)", truncate(key, 40), best)
	}
	return fmt.Sprintf("unknown key %q (known: %s)", truncate(key, 40), strings.Join(known, ", "))
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	if len(a) > 64 {
		return len(a) // not a typo of a short key; keep the cost bounded
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
