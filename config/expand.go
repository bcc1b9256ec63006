package config

import (
	"fmt"
	"strings"
)

// maxExpandDepth bounds ${A:-${B:-...}} nesting.
const maxExpandDepth = 8

// expand replaces ${VAR} and ${VAR:-default} in s with values from env, and
// $$ with $. A "$" before anything else is kept. ${VAR} of an unset variable
// is a problem naming it; ${VAR:-default} uses default (itself expanded) when
// VAR is unset or empty. It returns every problem found.
func expand(s string, env func(string) (string, bool)) (string, []string) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	return expandDepth(s, env, 0)
}

func expandDepth(s string, env func(string) (string, bool), depth int) (string, []string) {
	if depth > maxExpandDepth {
		return "", []string{fmt.Sprintf("${...:-default} nested more than %d deep", maxExpandDepth)}
	}
	var b strings.Builder
	var problems []string
	for i := 0; i < len(s); {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
		case '{':
			end := closingBrace(s, i+2)
			if end < 0 {
				problems = append(problems, "unterminated ${ (missing })")
				return b.String(), problems
			}
			v, ps := variable(s[i+2:end], env, depth)
			b.WriteString(v)
			problems = append(problems, ps...)
			i = end + 1
		default:
			b.WriteByte('$')
			i++
		}
	}
	return b.String(), problems
}

// variable expands the inside of one ${...}.
func variable(inner string, env func(string) (string, bool), depth int) (string, []string) {
	name, def, hasDef := strings.Cut(inner, ":-")
	if !validVarName(name) {
		return "", []string{fmt.Sprintf("invalid environment variable name %q in ${%s}", name, truncate(inner, 40))}
	}
	v, ok := env(name)
	switch {
	case hasDef && (!ok || v == ""):
		return expandDepth(def, env, depth+1)
	case !ok:
		return "", []string{fmt.Sprintf("environment variable %s is not set (use ${%s:-default} for a default)", name, name)}
	}
	return v, nil
}

// closingBrace returns the index of the '}' closing a "${" whose content
// starts at from, skipping $$ and nested ${...}; -1 if there is none.
func closingBrace(s string, from int) int {
	depth := 1
	for i := from; i < len(s); i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '$':
			i++
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
			i++
		case s[i] == '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

func validVarName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// truncate shortens s to at most n bytes (plus an ellipsis) on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
