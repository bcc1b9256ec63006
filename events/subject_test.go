package events_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/events"
)

func TestSubject(t *testing.T) {
	const uuid = "36ab27d0-fd9d-4455-823a-ce30af709ffc"
	tests := []struct {
		name      string
		prefix    string
		vehicleID string
		signal    events.Signal
		want      string
		wantErr   bool
	}{
		{"default", "smartcar", uuid, events.SignalOdometer, "smartcar." + "vehicles." + uuid + ".odometer", false},
		{"underscore signal", "my-app_2", "v1", events.SignalTirePressure, "my-app_2.vehicles.v1.tire_pressure", false},
		{"empty prefix", "", uuid, events.SignalOdometer, "", true},
		{"dotted prefix", "a.b", uuid, events.SignalOdometer, "", true},
		{"wildcard prefix", "*", uuid, events.SignalOdometer, "", true},
		{"empty vehicle", "smartcar", "", events.SignalOdometer, "", true},
		{"dotted vehicle", "smartcar", "a.b", events.SignalOdometer, "", true},
		{"star vehicle", "smartcar", "*", events.SignalOdometer, "", true},
		{"gt vehicle", "smartcar", ">", events.SignalOdometer, "", true},
		{"space vehicle", "smartcar", "a b", events.SignalOdometer, "", true},
		{"tab vehicle", "smartcar", "a\tb", events.SignalOdometer, "", true},
		{"long vehicle", "smartcar", strings.Repeat("x", 129), events.SignalOdometer, "", true},
		{"unknown signal", "smartcar", uuid, "speed", "", true},
		{"empty signal", "smartcar", uuid, "", "", true},
		{"generic without a code", "smartcar", uuid, events.SignalGeneric, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := events.Subject(tt.prefix, tt.vehicleID, tt.signal)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Subject() error = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, events.ErrInvalidName) {
				t.Errorf("Subject() error = %v, want it to wrap ErrInvalidName", err)
			}
			if got != tt.want {
				t.Errorf("Subject() = %q, want %q", got, tt.want)
			}
			if err != nil {
				return
			}
			v, s, code, err := events.ParseSubject(tt.prefix, got)
			if err != nil || v != tt.vehicleID || s != tt.signal || code != "" {
				t.Errorf("ParseSubject(%q) = %q, %q, %v; want %q, %q, nil", got, v, s, err, tt.vehicleID, tt.signal)
			}
		})
	}
}

func TestGenericSubject(t *testing.T) {
	tests := []struct {
		name, vehicleID, code, want string
	}{
		{"gear", "v1", "transmission-gearstate", "smartcar.vehicles.v1.signals.transmission-gearstate"},
		{"underscore", "v1", "a_b", "smartcar.vehicles.v1.signals.a_b"},
		{"empty code", "v1", "", ""},
		{"dotted code", "v1", "a.b", ""},
		{"wildcard code", "v1", "*", ""},
		{"long code", "v1", strings.Repeat("c", 129), ""},
		{"bad vehicle", "v.1", "a", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := events.GenericSubject("smartcar", tt.vehicleID, tt.code)
			if (err != nil) != (tt.want == "") || got != tt.want {
				t.Fatalf("GenericSubject() = %q, %v; want %q", got, err, tt.want)
			}
			if err != nil {
				if !errors.Is(err, events.ErrInvalidName) {
					t.Errorf("GenericSubject() error = %v, want it to wrap ErrInvalidName", err)
				}
				return
			}
			v, s, code, err := events.ParseSubject("smartcar", got)
			if err != nil || v != tt.vehicleID || s != events.SignalGeneric || code != tt.code {
				t.Errorf("ParseSubject(%q) = %q, %q, %q, %v; want %q, %q, %q, nil", got, v, s, code, err, tt.vehicleID, events.SignalGeneric, tt.code)
			}
			key, err := events.GenericLatestKey(tt.vehicleID, tt.code)
			if want := tt.vehicleID + ".signals." + tt.code; err != nil || key != want {
				t.Errorf("GenericLatestKey() = %q, %v; want %q", key, err, want)
			}
		})
	}
}

func TestSubjectFilter(t *testing.T) {
	tests := []struct {
		name      string
		vehicleID string
		signal    events.Signal
		want      string
		wantErr   bool
	}{
		{"all", "", "", "smartcar.vehicles.*.>", false},
		{"one vehicle", "v1", "", "smartcar.vehicles.v1.>", false},
		{"generic signals", "v1", events.SignalGeneric, "smartcar.vehicles.v1.signals.*", false},
		{"one signal", "", events.SignalLocation, "smartcar.vehicles.*.location", false},
		{"both", "v1", events.SignalStatus, "smartcar.vehicles.v1.status", false},
		{"bad vehicle", "v.1", "", "", true},
		{"bad signal", "", "speed", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := events.SubjectFilter("smartcar", tt.vehicleID, tt.signal)
			if (err != nil) != tt.wantErr {
				t.Fatalf("SubjectFilter() error = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("SubjectFilter() = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := events.SubjectFilter("a>b", "", ""); err == nil {
		t.Error(`SubjectFilter("a>b", ...) error = nil, want an error`)
	}
	if got, err := events.GenericSubjectFilter("smartcar", "", "wheel-tires"); err != nil || got != "smartcar.vehicles.*.signals.wheel-tires" {
		t.Errorf("GenericSubjectFilter() = %q, %v", got, err)
	}
	if _, err := events.GenericSubjectFilter("smartcar", "", "a.b"); err == nil {
		t.Error(`GenericSubjectFilter(code "a.b") error = nil, want an error`)
	}
}

func TestParseSubject_invalid(t *testing.T) {
	for _, subj := range []string{
		"other.vehicles.v1.odometer",
		"smartcar.vehicles.v1",
		"smartcar.vehicles.v1.speed",
		"smartcar.vehicles.v1.odometer.extra",
		"smartcar.vehicles.v1.signal",
		"smartcar.vehicles.v1.signals.",
		"smartcar.vehicles.v1.signals.a.b",
		"smartcar.jobs.v1",
	} {
		if v, s, _, err := events.ParseSubject("smartcar", subj); err == nil {
			t.Errorf("ParseSubject(%q) = %q, %q, nil; want an error", subj, v, s)
		}
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		prefix, stream, bucket string
	}{
		{"smartcar", "SMARTCAR_EVENTS", "SMARTCAR_LATEST"},
		{"my-app", "MY_APP_EVENTS", "MY_APP_LATEST"},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			if got := events.StreamName(tt.prefix); got != tt.stream {
				t.Errorf("StreamName() = %q, want %q", got, tt.stream)
			}
			if got := events.LatestBucket(tt.prefix); got != tt.bucket {
				t.Errorf("LatestBucket() = %q, want %q", got, tt.bucket)
			}
		})
	}
	key, err := events.LatestKey("v-1", events.SignalChargeLimit)
	if err != nil || key != "v-1.charge_limit" {
		t.Errorf("LatestKey() = %q, %v; want %q, nil", key, err, "v-1.charge_limit")
	}
	if _, err := events.LatestKey("v 1", events.SignalChargeLimit); err == nil {
		t.Error("LatestKey(\"v 1\") error = nil, want an error")
	}
	if _, err := events.LatestKey("v-1", events.SignalGeneric); err == nil {
		t.Error("LatestKey(generic) error = nil, want an error: the key needs the code")
	}
}
