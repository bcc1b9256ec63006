package config

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// maxVisits bounds the nodes one decode walks, so aliases of aliases cannot
// blow up (a billion laughs); maxDepth bounds nesting, so an alias inside its
// own anchor cannot recurse for ever.
const (
	maxVisits = 1 << 20
	maxDepth  = 32
)

// decoder fills a Config from a go-yaml syntax tree, expanding ${ENV} in
// every scalar it reads, and collects every problem with its line and key
// path.
type decoder struct {
	file    string
	env     func(string) (string, bool)
	aliases map[*ast.AliasNode]ast.Node // what each alias stands for
	errs    Errors
	lines   map[string]int  // key path -> line of its key (or list item)
	bad     map[string]bool // key paths whose value could not be decoded
	visits  int
	depth   int
}

// nodeDecoder is a type that decodes itself (Vehicles).
type nodeDecoder interface {
	decodeNode(d *decoder, n ast.Node, path string)
}

// defaulter is a list element or an optional section that starts from
// defaults (Schedule, Adaptive).
type defaulter interface{ setDefaults() }

var durationType = reflect.TypeFor[time.Duration]()

func newDecoder(file string, env func(string) (string, bool), aliases map[*ast.AliasNode]ast.Node) *decoder {
	return &decoder{file: file, env: env, aliases: aliases, lines: map[string]int{}, bad: map[string]bool{}}
}

// fail records a problem with the value at path, on the line of its key.
func (d *decoder) fail(n ast.Node, path, format string, args ...any) {
	line := d.lines[path]
	if line == 0 {
		line = nodeLine(n)
	}
	d.bad[path] = true
	d.report(line, path, format, args...)
}

// report records a problem at line.
func (d *decoder) report(line int, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: path, Problem: fmt.Sprintf(format, args...)})
}

// resolve follows anchors, tags, explicit keys (?) and aliases to the node
// that holds the value, and counts visits; nil means stop.
func (d *decoder) resolve(n ast.Node, path string) ast.Node {
unwrap:
	for hops := 0; !isNil(n); hops++ {
		var next ast.Node
		switch v := n.(type) {
		case *ast.AnchorNode:
			next = v.Value
		case *ast.TagNode:
			next = v.Value
		case *ast.MappingKeyNode:
			next = v.Value
		case *ast.AliasNode:
			next = d.aliases[v]
		default:
			break unwrap
		}
		if hops == maxDepth { // an anchor on its own alias
			d.fail(n, path, "nested too deeply (an alias inside its own anchor?)")
			return nil
		}
		n = next
	}
	d.visits++
	if d.visits == maxVisits {
		d.fail(n, path, "document too large or too many aliases")
	}
	if isNil(n) || d.visits >= maxVisits {
		return nil
	}
	return n
}

// enter counts one level of nesting; false (after reporting) when too deep.
// Every enter that returns true is paired with a leave.
func (d *decoder) enter(n ast.Node, path string) bool {
	if d.depth >= maxDepth {
		d.fail(n, path, "nested too deeply (an alias inside its own anchor?)")
		return false
	}
	d.depth++
	return true
}

func (d *decoder) leave() { d.depth-- }

// kind is what a resolved node holds.
type kind int

const (
	nullKind kind = iota
	scalarKind
	mappingKind
	listKind
)

func kindOf(n ast.Node) kind {
	if isNil(n) {
		return nullKind
	}
	if _, ok := gluedScalar(n); ok {
		return scalarKind
	}
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return mappingKind
	case *ast.SequenceNode:
		return listKind
	case *ast.NullNode, *ast.CommentGroupNode, *ast.CommentNode:
		return nullKind
	}
	return scalarKind
}

func isNull(n ast.Node) bool { return kindOf(n) == nullKind }

// scalarText is the value of a scalar node as written (quotes and escapes
// resolved), before any type is given to it.
func scalarText(n ast.Node) string {
	if isNil(n) {
		return ""
	}
	if s, ok := gluedScalar(n); ok {
		return s
	}
	switch v := n.(type) {
	case *ast.StringNode:
		if v.Token != nil {
			return plainText(v.Token)
		}
		return v.Value
	case *ast.LiteralNode:
		if v.Value != nil {
			return v.Value.Value
		}
		return ""
	}
	if tk := n.GetToken(); tk != nil {
		return plainText(tk)
	}
	return ""
}

// plainText is the value of a scalar's token. It works around go-yaml v1.19
// dropping the tabs inside an unquoted scalar (a\tb reads as ab) by taking
// a one-line unquoted scalar that has a tab from its source text.
func plainText(tk *token.Token) string {
	if tk.Indicator != token.NotIndicator {
		return tk.Value
	}
	src := strings.Trim(tk.Origin, " \t\r\n")
	if !strings.Contains(src, "\t") || strings.ContainsAny(src, "\r\n") {
		return tk.Value
	}
	return src
}

// gluedScalar undoes a go-yaml v1.19 scanner bug
// (https://github.com/goccy/go-yaml/issues/832): inside a flow mapping it
// splits a plain scalar at a colon not followed by a space, so the r:6379 of
// {addrs: [r:6379]} comes out as the one-pair mapping {r: 6379}. YAML reads
// "a:b" as one scalar wherever it is, so a pair written without a space
// around its colon (and not in braces) is the scalar key:value again.
func gluedScalar(n ast.Node) (string, bool) {
	m, ok := n.(*ast.MappingNode)
	if !ok || m == nil || len(m.Values) != 1 || m.Start == nil || m.Start.Type != token.MappingValueType {
		return "", false
	}
	mv := m.Values[0]
	if mv == nil {
		return "", false
	}
	key, ok := mv.Key.(*ast.StringNode)
	if !ok || key == nil || key.Token == nil || key.Token.Type != token.StringType || mv.Start == nil || isNil(mv.Value) {
		return "", false
	}
	val := mv.Value.GetToken()
	if val == nil || !plainScalar(mv.Value) {
		return "", false
	}
	k, colon := key.Token.Position, mv.Start.Position
	if k.Line != colon.Line || colon.Line != val.Position.Line ||
		k.Column+utf8.RuneCountInString(key.Token.Value) != colon.Column || colon.Column+1 != val.Position.Column {
		return "", false
	}
	return key.Token.Value + ":" + val.Value, true
}

// plainScalar reports whether n is an unquoted one-line scalar.
func plainScalar(n ast.Node) bool {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Token != nil && v.Token.Type == token.StringType
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return true
	}
	return false
}

// entries returns the key/value nodes of a mapping node.
func entries(n ast.Node) []*ast.MappingValueNode {
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}
	}
	return nil
}

// value decodes n into v. A null keeps v's current (default) value.
func (d *decoder) value(n ast.Node, v reflect.Value, path string) {
	if n = d.resolve(n, path); n == nil || isNull(n) || !d.enter(n, path) {
		return
	}
	defer d.leave()
	if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
		nd.decodeNode(d, n, path)
		return
	}
	if v.Kind() == reflect.Pointer { // an optional section (Schedule.Adaptive)
		if v.IsNil() {
			elem := reflect.New(v.Type().Elem())
			if def, ok := elem.Interface().(defaulter); ok {
				def.setDefaults()
			}
			v.Set(elem)
		}
		d.value(n, v.Elem(), path)
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
func (d *decoder) scalar(n ast.Node, path, want string) (string, bool) {
	if kindOf(n) != scalarKind {
		d.fail(n, path, "want %s, got %s", want, describe(n))
		return "", false
	}
	s, problems := expand(scalarText(n), d.env)
	for _, p := range problems {
		d.fail(n, path, "%s", p)
	}
	return s, len(problems) == 0
}

// mapping decodes a YAML mapping into the struct v, field by yaml tag.
func (d *decoder) mapping(n ast.Node, v reflect.Value, path string) {
	if kindOf(n) != mappingKind {
		d.fail(n, path, "want a mapping, got %s", describe(n))
		return
	}
	fields := yamlFields(v.Type())
	for _, p := range d.pairs(n, path) {
		key := p.key
		sub := joinKey(path, key)
		i, ok := fields[key]
		switch {
		case !ok && path == "" && strings.HasPrefix(key, "x-"):
			continue // extension key, a place for anchors
		case !ok:
			d.report(p.line, sub, "%s", unknownKey(key, fields))
			continue
		}
		d.lines[sub] = p.line
		if sep := v.Type().Field(i).Tag.Get("join"); sep != "" {
			d.joined(p.value, v.Field(i), sub, sep)
			continue
		}
		d.value(p.value, v.Field(i), sub)
	}
}

// joined decodes a string field tagged `join:"sep"` that YAML may also give
// as a list of strings: the items, none containing sep, joined with sep.
func (d *decoder) joined(n ast.Node, v reflect.Value, path, sep string) {
	r := d.resolve(n, path)
	seq, ok := r.(*ast.SequenceNode)
	if !ok {
		d.value(n, v, path)
		return
	}
	if len(seq.Values) == 0 {
		d.fail(r, path, "empty list (leave the key out for the default)")
		return
	}
	var items []string
	d.value(r, reflect.ValueOf(&items).Elem(), path)
	ok = true
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

// pair is one entry of a mapping: its key, the line of the key, its value.
type pair struct {
	key   string
	line  int
	value ast.Node
}

// pairs lists the entries of mapping n: its own keys (a repeated key is an
// error), then the keys of "<<" merges that are not overridden.
func (d *decoder) pairs(n ast.Node, path string) []pair {
	var own, merged []pair
	seen := map[string]int{}
	for _, mv := range entries(n) {
		if mv == nil || isNil(mv.Key) {
			continue
		}
		if isMergeKey(mv.Key) {
			merged = append(merged, d.merge(mv.Value, path)...)
			continue
		}
		line := nodeLine(mv.Key)
		k := d.resolve(mv.Key, path)
		if k == nil {
			continue
		}
		if kind := kindOf(k); kind == mappingKind || kind == listKind {
			d.report(line, path, "a key must be a string, got %s", describe(k))
			continue
		}
		key := scalarText(k)
		if first, dup := seen[key]; dup {
			d.report(line, joinKey(path, key), "duplicate key (first at line %d)", first)
			continue
		}
		seen[key] = line
		own = append(own, pair{key, line, mv.Value})
	}
	for _, p := range merged {
		if _, dup := seen[p.key]; !dup {
			seen[p.key] = p.line
			own = append(own, p)
		}
	}
	return own
}

// isMergeKey reports whether k is an untagged "<<", which YAML resolves to
// a merge ("<<" in quotes or with a tag is a string).
func isMergeKey(k ast.Node) bool {
	for !isNil(k) {
		switch v := k.(type) {
		case *ast.MergeKeyNode:
			return true
		case *ast.AnchorNode:
			k = v.Value
		case *ast.MappingKeyNode:
			k = v.Value
		default:
			return false
		}
	}
	return false
}

// merge returns the pairs a "<<" value brings: one mapping or a list of them,
// earlier ones winning.
func (d *decoder) merge(n ast.Node, path string) []pair {
	line := nodeLine(n)
	if n = d.resolve(n, path); n == nil || !d.enter(n, path) {
		return nil
	}
	defer d.leave()
	switch kindOf(n) {
	case mappingKind:
		return d.pairs(n, path)
	case listKind:
		var out []pair
		for _, item := range n.(*ast.SequenceNode).Values {
			itemLine := nodeLine(item)
			if item = d.resolve(item, path); item == nil {
				return out
			}
			if kindOf(item) != mappingKind {
				d.report(itemLine, path, "<< merges a mapping or a list of mappings, got %s", describe(item))
				continue
			}
			out = append(out, d.pairs(item, path)...)
		}
		return out
	}
	d.report(line, path, "<< merges a mapping or a list of mappings, got %s", describe(n))
	return nil
}

// list decodes a YAML sequence into the slice v.
func (d *decoder) list(n ast.Node, v reflect.Value, path string) {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		d.fail(n, path, "want a list, got %s", describe(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), 0, len(seq.Values))
	for i, item := range seq.Values {
		sub := fmt.Sprintf("%s[%d]", path, i)
		d.lines[sub] = nodeLine(item)
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
func describe(n ast.Node) string {
	switch kindOf(n) {
	case mappingKind:
		return "a mapping"
	case listKind:
		return "a list"
	case nullKind:
		return "null"
	}
	return strconv.Quote(truncate(scalarText(n), 40))
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
