package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// maxFileSize bounds a configuration file.
const maxFileSize = 1 << 20

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
	root, yerr := parseYAML(filename, data)
	if yerr != nil {
		return nil, Errors{yerr}
	}
	c := defaults()
	d := newDecoder(filename, env)
	if root != nil {
		d.value(root, reflect.ValueOf(c).Elem(), "")
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

// parseYAML returns the root node of the single document in data (nil for
// an empty file) or the syntax error with its line.
func parseYAML(filename string, data []byte) (*yaml.Node, *Error) {
	root, extra, err := decodeYAML(data)
	switch {
	case err != nil:
		return nil, yamlError(filename, data, err)
	case extra != nil:
		return nil, &Error{File: filename, Line: max(extra.Line, 1), Problem: "more than one YAML document"}
	}
	return root, nil
}

// decodeYAML parses data: the first document's root (nil if empty), the
// second document if there is one, or yaml.v3's error.
func decodeYAML(data []byte) (root, extra *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil { // yaml.v3 has panicked on odd input before
			root, extra, err = nil, nil, errors.New("yaml: cannot parse")
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc, next yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	if err := dec.Decode(&next); err == nil {
		return nil, &next, nil
	} else if !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil, nil
	}
	return doc.Content[0], nil, nil
}

var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// parserProblems are the yaml.v3 parser (not scanner) errors, whose line
// yaml.v3 reports counting from 0.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// yamlError turns a yaml.v3 syntax error into an *Error with the right line.
func yamlError(filename string, data []byte, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	switch {
	case parserProblems[msg]:
		line = problemLine(data, err.Error())
	case strings.HasPrefix(msg, "unknown anchor '"):
		name := strings.TrimSuffix(strings.TrimPrefix(msg, "unknown anchor '"), "' referenced")
		line = lineOf(data, bytes.Index(data, []byte("*"+name)))
	case line == 0:
		line = lineOf(data, firstBadByte(data))
	}
	return &Error{File: filename, Line: max(line, 1), Problem: "invalid YAML: " + msg}
}

// problemLine finds the line of a parser error, which yaml.v3 reports at the
// start of the enclosing block (and counting from 0): the first line whose
// prefix of the file already fails with the same error.
func problemLine(data []byte, msg string) int {
	var ends []int // offset after each line
	for i, b := range data {
		if b == '\n' {
			ends = append(ends, i+1)
		}
	}
	ends = append(ends, len(data))
	lo, hi := 0, len(ends)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if _, _, err := decodeYAML(data[:ends[mid]]); err != nil && err.Error() == msg {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo + 1
}

// lineOf returns the 1-based line of byte offset off (0 when off < 0).
func lineOf(data []byte, off int) int {
	if off < 0 || off > len(data) {
		return 0
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// firstBadByte returns the offset of the first byte YAML rejects (invalid
// UTF-8 or a control character), or -1.
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
