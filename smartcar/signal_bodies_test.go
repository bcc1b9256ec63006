package smartcar_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

func signalWith(body string) *smartcar.Signal {
	return &smartcar.Signal{Code: "x-y", Status: smartcar.SignalSuccess, Body: json.RawMessage(body)}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestScalarBody(t *testing.T) {
	tests := []struct {
		body    string
		want    smartcar.ScalarBody
		km      float64 // -1: no distance
		kPa     float64 // -1: no pressure
		liters  float64 // -1: no volume
		frac    float64 // -1: no percentage
		metric  smartcar.ScalarBody
		wantErr bool
	}{
		{body: `{"unit":"kilometers","value":115071.5}`, want: smartcar.ScalarBody{Unit: "kilometers", Value: 115071.5},
			km: 115071.5, kPa: -1, liters: -1, frac: -1, metric: smartcar.ScalarBody{Unit: "kilometers", Value: 115071.5}},
		{body: `{"unit":"miles","value":100}`, want: smartcar.ScalarBody{Unit: "miles", Value: 100},
			km: 160.9344, kPa: -1, liters: -1, frac: -1, metric: smartcar.ScalarBody{Unit: "kilometers", Value: 160.9344}},
		{body: `{"unit":"meters","value":1500}`, want: smartcar.ScalarBody{Unit: "meters", Value: 1500},
			km: 1.5, kPa: -1, liters: -1, frac: -1, metric: smartcar.ScalarBody{Unit: "kilometers", Value: 1.5}},
		{body: `{"unit":"psi","value":32}`, want: smartcar.ScalarBody{Unit: "psi", Value: 32},
			km: -1, kPa: 220.63223338138756, liters: -1, frac: -1, metric: smartcar.ScalarBody{Unit: "kilopascals", Value: 220.63223338138756}},
		{body: `{"unit":"bar","value":2.2}`, want: smartcar.ScalarBody{Unit: "bar", Value: 2.2},
			km: -1, kPa: 220.00000000000003, liters: -1, frac: -1, metric: smartcar.ScalarBody{Unit: "kilopascals", Value: 220.00000000000003}},
		{body: `{"unit":"gallons","value":10}`, want: smartcar.ScalarBody{Unit: "gallons", Value: 10},
			km: -1, kPa: -1, liters: 37.85411784, frac: -1, metric: smartcar.ScalarBody{Unit: "liters", Value: 37.85411784}},
		{body: `{"unit":"liters","value":40}`, want: smartcar.ScalarBody{Unit: "liters", Value: 40},
			km: -1, kPa: -1, liters: 40, frac: -1, metric: smartcar.ScalarBody{Unit: "liters", Value: 40}},
		{body: `{"unit":"percent","value":75}`, want: smartcar.ScalarBody{Unit: "percent", Value: 75},
			km: -1, kPa: -1, liters: -1, frac: 0.75, metric: smartcar.ScalarBody{Unit: "percent", Value: 75}},
		{body: `{"percentage":75}`, want: smartcar.ScalarBody{Unit: "percent", Value: 75},
			km: -1, kPa: -1, liters: -1, frac: 0.75, metric: smartcar.ScalarBody{Unit: "percent", Value: 75}},
		{body: `{"unit":"kilowattHours","value":75.5}`, want: smartcar.ScalarBody{Unit: "kilowattHours", Value: 75.5},
			km: -1, kPa: -1, liters: -1, frac: -1, metric: smartcar.ScalarBody{Unit: "kilowattHours", Value: 75.5}},
		{body: `{"unit":"kilometers"}`, wantErr: true},
		{body: `{"unit":"kilometers","value":null}`, wantErr: true},
		{body: `{"unit":"kilometers","value":"far"}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			got, err := signalWith(tt.body).Scalar()
			if tt.wantErr {
				if e, ok := err.(*smartcar.Error); !ok || e.Code != "INVALID_RESPONSE" {
					t.Errorf("Scalar = %+v, %v; want an INVALID_RESPONSE *Error", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Scalar = %+v, %v; want %+v", got, err, tt.want)
			}
			for _, c := range []struct {
				name string
				fn   func() (float64, error)
				want float64
			}{{"Kilometers", got.Kilometers, tt.km}, {"Kilopascals", got.Kilopascals, tt.kPa},
				{"Liters", got.Liters, tt.liters}, {"Fraction", got.Fraction, tt.frac}} {
				v, err := c.fn()
				if c.want < 0 {
					if e, ok := err.(*smartcar.Error); !ok || e.Code != "UNIT" {
						t.Errorf("%s = %v, %v; want a UNIT error", c.name, v, err)
					}
				} else if err != nil || !near(v, c.want) {
					t.Errorf("%s = %v, %v; want %v", c.name, v, err, c.want)
				}
			}
			if m := got.Metric(); m.Unit != tt.metric.Unit || !near(m.Value, tt.metric.Value) {
				t.Errorf("Metric = %+v, want %+v", m, tt.metric)
			}
		})
	}
}

func TestSignal_typedBodies(t *testing.T) {
	if v, err := signalWith(`{"value":true}`).Bool(); err != nil || !v {
		t.Errorf("Bool = %v, %v", v, err)
	}
	if v, err := signalWith(`{"value":"CHARGING"}`).Text(); err != nil || v != smartcar.ChargeStateCharging {
		t.Errorf("Text = %q, %v", v, err)
	}
	for _, body := range []string{`{}`, `{"value":null}`, `{"unit":"x"}`, `{"value":true,"value":null}`} {
		if v, err := signalWith(body).Bool(); err == nil {
			t.Errorf("Bool(%s) = %v, want an error for a missing value", body, v)
		}
	}
	if v, err := signalWith(`{"value":1}`).Text(); err == nil {
		t.Errorf("Text of a number = %q, want an error", v)
	}
	// A body of the wrong type names the public body type, as Decode does.
	if _, err := signalWith(`{"value":"yes"}`).Bool(); err == nil || !strings.Contains(err.Error(), "BoolBody.value of type bool") {
		t.Errorf("Bool of a string: %v, want the decode error of BoolBody", err)
	}
	if _, err := signalWith(`{"value":1}`).Text(); err == nil || !strings.Contains(err.Error(), "TextBody.value of type string") {
		t.Errorf("Text of a number: %v, want the decode error of TextBody", err)
	}
	if v, err := signalWith(`{"value":null,"value":false}`).Bool(); err != nil || v {
		t.Errorf("Bool with the last value false = %v, %v", v, err)
	}
	if v, err := signalWith(`{"value":""}`).Text(); err != nil || v != "" {
		t.Errorf("Text of an empty string = %q, %v", v, err)
	}
	failed := &smartcar.Signal{Code: "charge-ischarging", Status: smartcar.SignalError,
		Err: &smartcar.Error{Type: smartcar.TypeCompatibility, Code: "VEHICLE_NOT_CAPABLE"}}
	if _, err := failed.Bool(); err != failed.Err {
		t.Errorf("Bool of a failed signal = %v, want its own error", err)
	}
	var loc smartcar.LocationBody
	if err := signalWith(`{"latitude":37.4292,"longitude":-122.1381,"heading":45,"direction":"NE","locationType":"CURRENT"}`).Decode(&loc); err != nil ||
		loc != (smartcar.LocationBody{Latitude: 37.4292, Longitude: -122.1381, Heading: 45, Direction: "NE", LocationType: "CURRENT"}) {
		t.Errorf("location = %+v, %v", loc, err)
	}
	var doors, windows smartcar.ClosuresBody
	locked := true
	if err := signalWith(`{"values":[{"row":0,"column":0,"isOpen":false,"isLocked":true},{"row":1,"column":1,"isOpen":true,"isLocked":true}],"rowCount":2,"columnCount":2}`).Decode(&doors); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(smartcar.ClosuresBody{RowCount: 2, ColumnCount: 2, Values: []smartcar.Closure{
		{Row: 0, Column: 0, IsLocked: &locked}, {Row: 1, Column: 1, IsOpen: true, IsLocked: &locked}}}, doors); diff != "" || !doors.AnyOpen() {
		t.Errorf("doors (-want +got):\n%s (any open %v)", diff, doors.AnyOpen())
	}
	if err := signalWith(`{"values":[{"row":0,"column":0,"isOpen":false}],"rowCount":1,"columnCount":1}`).Decode(&windows); err != nil ||
		windows.Values[0].IsLocked != nil || windows.AnyOpen() {
		t.Errorf("windows = %+v, %v", windows, err)
	}
	var tires smartcar.TiresBody
	if err := signalWith(`{"unit":"psi","values":[{"row":0,"column":0,"tirePressure":32},{"row":1,"column":1,"tirePressure":30}],"rowCount":2,"columnCount":2}`).Decode(&tires); err != nil {
		t.Fatal(err)
	}
	if kPa, ok := tires.Kilopascals(1, 1); !ok || !near(kPa, 206.84271879505082) {
		t.Errorf("back right = %v, %v", kPa, ok)
	}
	if _, ok := tires.Kilopascals(0, 1); ok {
		t.Error("a tire that is not there has a pressure")
	}
	for body, want := range map[string]float64{
		`{"activeLimit":80,"unit":"percent","values":[{"type":"GLOBAL","limit":80}]}`: 0.8,
		`{"activeLimit":90,"values":[]}`:                                              0.9,
		`{"activeLimit":0.7}`:                                                         0.7,
	} {
		var cl smartcar.ChargeLimitsBody
		if err := signalWith(body).Decode(&cl); err != nil {
			t.Fatal(err)
		}
		if f, err := cl.Fraction(); err != nil || !near(f, want) {
			t.Errorf("Fraction(%s) = %v, %v; want %v", body, f, err, want)
		}
	}
	if _, err := (smartcar.ChargeLimitsBody{ActiveLimit: 80, Unit: "amperes"}).Fraction(); err == nil {
		t.Error("a limit in amperes converted to a fraction")
	}
}

func TestSignals_Get(t *testing.T) {
	s := &smartcar.Signals{Items: []smartcar.Signal{odometer, notCapable}}
	if got, ok := s.Get(smartcar.SignalStateOfCharge); !ok || got != &s.Items[1] {
		t.Errorf("Get = %v, %v", got, ok)
	}
	if _, ok := s.Get("nope"); ok {
		t.Error("Get of an absent code reported a signal")
	}
	if diff := cmp.Diff([]string{smartcar.SignalOdometer, smartcar.SignalStateOfCharge}, s.Codes()); diff != "" {
		t.Errorf("Codes (-want +got):\n%s", diff)
	}
}

// A percentage becomes the fraction v2 would send for it: the decimal
// divided by 100, not the nearest float64 to value/100 after rounding twice.
func TestScalarBody_FractionIsDecimal(t *testing.T) {
	for pct, want := range map[float64]float64{
		76.82: 0.7682, 63.36: 0.6336, 32.29: 0.3229, 90.87: 0.9087, 7: 0.07, 0.5: 0.005, 100: 1, 0: 0,
		150: 1.5, -3: -0.03, 33.333333333333336: 0.33333333333333336, 1e-320: 1e-322,
	} {
		got, err := smartcar.ScalarBody{Unit: "percent", Value: pct}.Fraction()
		if err != nil || got != want {
			t.Errorf("Fraction(%v %%) = %v, %v; want exactly %v", pct, got, err, want)
		}
		if cl, err := (smartcar.ChargeLimitsBody{ActiveLimit: pct, Unit: "percent"}).Fraction(); err != nil || cl != want {
			t.Errorf("ChargeLimitsBody{%v percent}.Fraction() = %v, %v; want exactly %v", pct, cl, err, want)
		}
	}
	for _, pct := range []float64{math.Inf(1), math.Inf(-1)} {
		if got, _ := (smartcar.ScalarBody{Unit: "percent", Value: pct}).Fraction(); got != pct {
			t.Errorf("Fraction(%v) = %v", pct, got)
		}
	}
	if got, _ := (smartcar.ScalarBody{Unit: "percent", Value: math.NaN()}).Fraction(); !math.IsNaN(got) {
		t.Errorf("Fraction(NaN) = %v", got)
	}
}
