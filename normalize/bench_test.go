package normalize_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/normalize"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// benchSignals reads testdata/signals_bev.json, one page of GET /signals of
// a BEV as the simulator sends it (24 signals, 4 of them ERROR), into the
// Signals the SDK gives for it.
func benchSignals(b *testing.B) *smartcar.Signals {
	b.Helper()
	raw, err := os.ReadFile("testdata/signals_bev.json")
	if err != nil {
		b.Fatal(err)
	}
	var doc struct {
		Data []struct {
			Attributes struct {
				Code, Name, Group string
				Status            struct {
					Value string
					Error *struct{ Type, Code, Description string }
				}
				Body json.RawMessage
			}
			Meta struct{ RetrievedAt, OEMUpdatedAt int64 }
		}
		Included struct {
			Vehicle struct {
				ID         string
				Attributes struct {
					Make, Model string
					Year        int
				}
			}
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		b.Fatal(err)
	}
	v := doc.Included.Vehicle
	s := &smartcar.Signals{Vehicle: &smartcar.Info{ID: v.ID, Make: v.Attributes.Make, Model: v.Attributes.Model,
		Year: v.Attributes.Year}, Meta: smartcar.Meta{RequestID: "req-1"}}
	for _, d := range doc.Data {
		a := d.Attributes
		sig := smartcar.Signal{Code: a.Code, Name: a.Name, Group: a.Group, Status: a.Status.Value,
			RetrievedAt: time.UnixMilli(d.Meta.RetrievedAt), OEMUpdatedAt: time.UnixMilli(d.Meta.OEMUpdatedAt)}
		if e := a.Status.Error; e != nil {
			sig.Err = &smartcar.Error{Type: e.Type, Code: e.Code, Description: e.Description, RequestID: "req-1"}
		} else {
			sig.Body = a.Body
		}
		s.Items = append(s.Items, sig)
	}
	return s
}

// BenchmarkFromSignals normalizes the 24 signals of a BEV, what the daemon's
// v3 poll does after the SDK's decode: the vehicle's info, the daemon
// signals its codes make up, the other codes as generic signal events.
func BenchmarkFromSignals(b *testing.B) {
	s := benchSignals(b)
	b.ReportAllocs()
	for b.Loop() {
		r, err := normalize.FromSignals(s, nil)
		if err != nil || len(r.Items) == 0 {
			b.Fatalf("FromSignals = %d items, %v", len(r.Items), err)
		}
	}
}
