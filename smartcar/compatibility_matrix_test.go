package smartcar_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

func TestClient_GetCompatibilityMatrix(t *testing.T) {
	srv := serve(t, reply{header: metaHeaders, body: `{"NISSAN":[{"model":"LEAF","startYear":2018,"endYear":"2022","type":"BEV",
		"endpoints":["EV battery","Odometer"],"permissions":["read_battery","read_odometer"]}],"TESLA":[]}`})
	clearEnv(t)
	t.Setenv("SMARTCAR_CLIENT_ID", "env-id")
	t.Setenv("SMARTCAR_CLIENT_SECRET", "env-secret")
	got, err := srv.client().GetCompatibilityMatrix(t.Context(), "EUROPE", &smartcar.CompatibilityMatrixOptions{
		Scope: []string{"read_battery", "read_charge"}, Make: "NISSAN", Type: "BEV", Mode: smartcar.ModeTest})
	if err != nil {
		t.Fatal(err)
	}
	want := &smartcar.CompatibilityMatrix{Meta: wantMeta, Makes: map[string][]smartcar.CompatibilityMatrixEntry{
		"NISSAN": {{Model: "LEAF", StartYear: 2018, EndYear: 2022, Type: "BEV", Endpoints: []string{"EV battery", "Odometer"},
			Permissions: []string{"read_battery", "read_odometer"}}},
		"TESLA": {},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("matrix (-want +got):\n%s", diff)
	}
	r := srv.last(t)
	if r.Method != "GET" || r.Path != "/v2.0/compatibility/matrix" ||
		r.RawQuery != "region=EUROPE&scope=read_battery%20read_charge&make=NISSAN&type=BEV&mode=test" ||
		r.Header.Get("Authorization") != "Basic "+basicAuth("env-id", "env-secret") {
		t.Errorf("request = %s %s?%s, Authorization %q", r.Method, r.Path, r.RawQuery, r.Header.Get("Authorization"))
	}

	t.Run("defaults to US, options win over the environment", func(t *testing.T) {
		srv := serve(t, reply{body: `{}`})
		if _, err := srv.client().GetCompatibilityMatrix(t.Context(), "", &smartcar.CompatibilityMatrixOptions{ClientID: "id", ClientSecret: "s"}); err != nil {
			t.Fatal(err)
		}
		if r := srv.last(t); r.RawQuery != "region=US" || r.Header.Get("Authorization") != "Basic "+basicAuth("id", "s") {
			t.Errorf("request ?%s, Authorization %q", r.RawQuery, r.Header.Get("Authorization"))
		}
	})
	t.Run("missing credentials", func(t *testing.T) {
		clearEnv(t)
		_, err := smartcar.GetCompatibilityMatrix(t.Context(), "US", nil)
		if !errors.Is(err, smartcar.ErrMissingCredentials) {
			t.Errorf("error = %v, want ErrMissingCredentials", err)
		}
	})
}
