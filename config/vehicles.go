package config

import (
	"reflect"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// Vehicles selects the vehicles of a schedule. In YAML it is the string
// "all", a list of vehicle ids, or {tags: [a, b]} for the vehicles that carry
// any of those tags (given at connect time). Exactly one of All, IDs and Tags
// is set.
type Vehicles struct {
	All  bool
	IDs  []string
	Tags []string
}

// String describes the selection: "all", "ids: a, b" or "tags: a, b".
func (v Vehicles) String() string {
	switch {
	case v.All:
		return "all"
	case v.Tags != nil:
		return "tags: " + strings.Join(v.Tags, ", ")
	}
	return "ids: " + strings.Join(v.IDs, ", ")
}

// MarshalYAML writes the selection back in its YAML form.
func (v Vehicles) MarshalYAML() (any, error) {
	switch {
	case v.All:
		return "all", nil
	case v.Tags != nil:
		return map[string][]string{"tags": v.Tags}, nil
	}
	return v.IDs, nil
}

func (v *Vehicles) decodeNode(d *decoder, n ast.Node, path string) {
	switch kindOf(n) {
	case listKind:
		var ids []string
		d.list(n, reflect.ValueOf(&ids).Elem(), path)
		*v = Vehicles{IDs: ids}
	case mappingKind:
		var sel struct {
			Tags []string `yaml:"tags"`
		}
		d.mapping(n, reflect.ValueOf(&sel).Elem(), path)
		if sel.Tags == nil {
			sel.Tags = []string{}
		}
		*v = Vehicles{Tags: sel.Tags}
	default:
		s, ok := d.scalar(n, path, "")
		if !ok {
			return
		}
		if s != "all" {
			d.fail(n, path, `want "all", a list of vehicle ids or {tags: [...]}, got %q`, truncate(s, 40))
			return
		}
		*v = Vehicles{All: true}
	}
}
