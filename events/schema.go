package events

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SchemaBaseURL is the base of every schema's $id and of the events'
// dataschema. Schemas are embedded; nothing is fetched from it.
const SchemaBaseURL = "https://raw.githubusercontent.com/smartcar-poller/smartcar-poller/main/events/schemas/"

const envelopeFile = "envelope.v1.json"

//go:embed schemas/*.json
var schemaFS embed.FS

// SchemaURL returns the dataschema URI of signal s's events.
func SchemaURL(s Signal) string { return SchemaBaseURL + schemaFile(s) }

func schemaFile(s Signal) string { return string(s) + ".v1.json" }

// Schema returns the JSON Schema (draft 2020-12) of signal s's events, or nil
// for an unknown signal. It refers to the shared envelope, EnvelopeSchema.
func Schema(s Signal) []byte {
	if !s.Valid() {
		return nil
	}
	b, err := schemaFS.ReadFile("schemas/" + schemaFile(s))
	if err != nil {
		return nil
	}
	return b
}

// EnvelopeSchema returns the JSON Schema of the CloudEvents envelope that
// every signal's schema refers to as "envelope.v1.json".
func EnvelopeSchema() []byte {
	b, _ := schemaFS.ReadFile("schemas/" + envelopeFile)
	return b
}

var compiled = sync.OnceValues(compileSchemas)

func compileSchemas() (map[Signal]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	files := append([]string{envelopeFile}, mapSignals(schemaFile)...)
	for _, f := range files {
		b, err := schemaFS.ReadFile("schemas/" + f)
		if err != nil {
			return nil, fmt.Errorf("read schema %s: %w", f, err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("decode schema %s: %w", f, err)
		}
		if err := c.AddResource(SchemaBaseURL+f, doc); err != nil {
			return nil, fmt.Errorf("add schema %s: %w", f, err)
		}
	}
	out := make(map[Signal]*jsonschema.Schema, len(allSignals))
	for _, s := range allSignals {
		sch, err := c.Compile(SchemaURL(s))
		if err != nil {
			return nil, fmt.Errorf("compile schema %s: %w", schemaFile(s), err)
		}
		out[s] = sch
	}
	return out, nil
}

func mapSignals(f func(Signal) string) []string {
	out := make([]string, 0, len(allSignals))
	for _, s := range allSignals {
		out = append(out, f(s))
	}
	return out
}

// Validate checks the JSON of one event against the schema picked by its
// type, and returns an error describing every violation.
func Validate(eventJSON []byte) error {
	schemas, err := compiled()
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(eventJSON))
	if err != nil {
		return fmt.Errorf("validate event: decode: %w", err)
	}
	var head struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(eventJSON, &head); err != nil {
		return fmt.Errorf("validate event: decode: %w", err)
	}
	s, ok := SignalFromType(head.Type)
	if !ok {
		return fmt.Errorf("validate event %q: unknown type %q: %w", head.ID, head.Type, ErrInvalidEvent)
	}
	if err := schemas[s].Validate(doc); err != nil {
		return fmt.Errorf("validate event %q: %w: %w", head.ID, ErrInvalidEvent, err)
	}
	return nil
}
