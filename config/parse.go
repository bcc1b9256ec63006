package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// maxFileSize and maxLines bound a configuration file. go-yaml's parser
// takes time quadratic in the keys of one block mapping (about 1s for 10,000
// keys), so the line limit keeps a huge file from stalling Parse; a real
// configuration has a few hundred lines.
const (
	maxFileSize = 1 << 20
	maxLines    = 10_000
)

// Load reads and parses the file at path, with os.LookupEnv for ${ENV}
// expansion and the SMARTCAR_* fallbacks. Problems in the file come back as
// Errors; a file that cannot be read as a wrapped *fs.PathError.
func Load(path string, opts ...Option) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data, os.LookupEnv, opts...)
}

// Parse decodes the YAML data of the file named filename (used only in
// errors) into a Config: ${VAR} and ${VAR:-default} in values are expanded
// with env (nil means an empty environment), absent settings take their
// defaults, client_id, client_secret and redirect_uri fall back to
// SMARTCAR_CLIENT_ID, SMARTCAR_CLIENT_SECRET and SMARTCAR_REDIRECT_URI, and
// everything is validated. All problems are returned together as Errors,
// each "file:line: key: problem".
func Parse(filename string, data []byte, env func(string) (string, bool), opts ...Option) (*Config, error) {
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	if len(data) > maxFileSize {
		return nil, Errors{{File: filename, Line: 1, Problem: fmt.Sprintf("file too large (%d bytes, limit %d)", len(data), maxFileSize)}}
	}
	if n := countLines(data); n > maxLines {
		return nil, Errors{{File: filename, Line: maxLines + 1, Problem: fmt.Sprintf("file too long (%d lines, limit %d)", n, maxLines)}}
	}
	doc, yerr := parseYAML(filename, data)
	if yerr != nil {
		return nil, Errors{yerr}
	}
	c := defaults()
	d := newDecoder(filename, env, doc.aliases)
	if doc.root != nil {
		d.value(doc.root, reflect.ValueOf(c).Elem(), "")
	}
	if d.bad[""] { // not a mapping: nothing else to say
		return nil, d.errs
	}
	if _, set := d.lines["nats.replicas"]; !set && len(c.NATS.Servers()) > 1 {
		c.NATS.Replicas = 3 // several servers: a cluster
	}
	envFallbacks(&c.Smartcar, env)
	if c.Webhooks.ManagementToken == "" {
		v, _ := env("SMARTCAR_MANAGEMENT_TOKEN")
		c.Webhooks.ManagementToken = Secret(v)
	}
	v := newValidator(filename, d.lines, d.bad, opts)
	v.config(c)
	if errs := append(d.errs, v.errs...); len(errs) > 0 {
		return nil, errs.sorted()
	}
	return c, nil
}

func envFallbacks(s *Smartcar, env func(string) (string, bool)) {
	if s.ClientID == "" {
		s.ClientID, _ = env("SMARTCAR_CLIENT_ID")
	}
	if s.ClientSecret == "" {
		v, _ := env("SMARTCAR_CLIENT_SECRET")
		s.ClientSecret = Secret(v)
	}
	if s.RedirectURI == "" {
		s.RedirectURI, _ = env("SMARTCAR_REDIRECT_URI")
	}
}

// document is a parsed YAML file: its root node (nil for an empty file) and
// the node each alias stands for.
type document struct {
	root    ast.Node
	aliases map[*ast.AliasNode]ast.Node
}

// parseYAML parses the single document in data, or returns the syntax error
// with its line.
func parseYAML(filename string, data []byte) (*document, *Error) {
	if off := firstBadByte(data); off >= 0 {
		return nil, &Error{File: filename, Line: lineOf(data, off), Problem: "invalid YAML: " + badByteProblem(data, off)}
	}
	f, err := parseFile(bytes.TrimPrefix(data, []byte("\uFEFF"))) // go-yaml does not skip a byte order mark
	if err != nil {
		return nil, syntaxError(filename, err)
	}
	switch {
	case len(f.Docs) > 1:
		return nil, &Error{File: filename, Line: max(documentLine(f.Docs[1]), 1), Problem: "more than one YAML document"}
	case len(f.Docs) == 0 || isNil(f.Docs[0].Body):
		return &document{}, nil
	}
	doc := &document{root: f.Docs[0].Body}
	var unknown *ast.AliasNode
	doc.aliases, unknown = resolveAliases(doc.root)
	if unknown != nil {
		return nil, &Error{File: filename, Line: max(nodeLine(unknown), 1),
			Problem: fmt.Sprintf("invalid YAML: unknown anchor '%s' referenced", truncate(aliasName(unknown), 40))}
	}
	return doc, nil
}

// parseFile runs go-yaml's parser, turning a panic into an error.
func parseFile(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, errors.New("yaml: cannot parse")
		}
	}()
	// Repeated keys are the decoder's to report, with their key path.
	return parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
}

// syntaxError turns a go-yaml error into an *Error at the line of the token
// the parser stopped at. Only the library's message is kept: its Error()
// quotes the surrounding lines of the file, which may hold a secret.
func syntaxError(filename string, err error) *Error {
	line, msg := 1, "cannot parse"
	var ye yaml.Error
	if errors.As(err, &ye) {
		msg = controlChars.Replace(truncate(ye.GetMessage(), 100))
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			line = max(tk.Position.Line, 1)
		}
	}
	return &Error{File: filename, Line: line, Problem: "invalid YAML: " + msg}
}

// controlChars escapes the characters a parser message may quote raw.
var controlChars = strings.NewReplacer("\t", `\t`, "\n", `\n`, "\r", `\r`)

// documentLine is the line where doc starts: its "---" or its first node.
func documentLine(doc *ast.DocumentNode) int {
	if doc.Start != nil && doc.Start.Position != nil {
		return doc.Start.Position.Line
	}
	return nodeLine(doc.Body)
}

// resolveAliases maps each alias under root to the node of the latest
// anchor of its name before it, as YAML defines; an anchor is known inside
// its own node, so an alias there loops (and the decoder stops it). It
// returns the first alias without an anchor, if any.
func resolveAliases(root ast.Node) (map[*ast.AliasNode]ast.Node, *ast.AliasNode) {
	anchors := map[string]ast.Node{}
	aliases := map[*ast.AliasNode]ast.Node{}
	var unknown *ast.AliasNode
	var walk func(n ast.Node)
	walk = func(n ast.Node) {
		if isNil(n) || unknown != nil {
			return
		}
		switch n := n.(type) {
		case *ast.AnchorNode:
			if !isNil(n.Name) {
				anchors[n.Name.GetToken().Value] = n.Value
			}
			walk(n.Value)
		case *ast.AliasNode:
			target, ok := anchors[aliasName(n)]
			if !ok {
				unknown = n
				return
			}
			aliases[n] = target
		case *ast.TagNode:
			walk(n.Value)
		case *ast.MappingKeyNode:
			walk(n.Value)
		case *ast.MappingNode:
			for _, mv := range n.Values {
				walk(mv)
			}
		case *ast.MappingValueNode:
			walk(n.Key)
			walk(n.Value)
		case *ast.SequenceNode:
			for _, item := range n.Values {
				walk(item)
			}
		}
	}
	walk(root)
	return aliases, unknown
}

func aliasName(n *ast.AliasNode) string {
	if isNil(n.Value) || n.Value.GetToken() == nil {
		return ""
	}
	return n.Value.GetToken().Value
}

// isNil reports whether n is nil or a nil pointer in an interface.
func isNil(n ast.Node) bool {
	if n == nil {
		return true
	}
	v := reflect.ValueOf(n)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// nodeLine is the 1-based line of n (0 if unknown).
func nodeLine(n ast.Node) int {
	if isNil(n) {
		return 0
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

// countLines counts the lines of data, the last one with or without a
// line break.
func countLines(data []byte) int {
	n := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}

// lineOf returns the 1-based line of byte offset off (0 when off < 0).
func lineOf(data []byte, off int) int {
	if off < 0 || off > len(data) {
		return 0
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// firstBadByte returns the offset of the first byte YAML rejects (invalid
// UTF-8 or a control character), or -1. YAML allows neither anywhere in a
// file, and go-yaml does not check.
func firstBadByte(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1,
			r < 0x20 && r != '\t' && r != '\n' && r != '\r',
			r >= 0x7F && r < 0xA0 && r != 0x85,
			r == 0xFFFE || r == 0xFFFF:
			return i
		}
		i += size
	}
	return -1
}

// badByteProblem says what is wrong at data[off], a byte firstBadByte found.
func badByteProblem(data []byte, off int) string {
	r, size := utf8.DecodeRune(data[off:])
	switch {
	case r != utf8.RuneError || size > 1:
		return "control characters are not allowed"
	case !utf8.RuneStart(data[off]) || data[off] >= 0xF8:
		return "invalid leading UTF-8 octet"
	case !utf8.FullRune(data[off:]):
		return "incomplete UTF-8 octet sequence"
	}
	return "invalid trailing UTF-8 octet"
}
