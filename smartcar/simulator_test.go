package smartcar_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestSimulator_SeedFlow runs the official SDK README's flow end to end
// against the local simulator, configured the way users configure the SDK:
// through the SMARTCAR_* environment variables.
func TestSimulator_SeedFlow(t *testing.T) {
	sim := smartcartest.NewServer(smartcartest.WithSeed(5), smartcartest.WithVehicles(3),
		smartcartest.WithRefreshGrace(200*time.Millisecond))
	defer sim.Close()
	o := sim.Origins()
	for k, v := range map[string]string{
		"SMARTCAR_CLIENT_ID": sim.ClientID, "SMARTCAR_CLIENT_SECRET": sim.ClientSecret,
		"SMARTCAR_REDIRECT_URI": sim.RedirectURI, "SMARTCAR_API_ORIGIN": o.API,
		"SMARTCAR_AUTH_ORIGIN": o.Auth + "/oauth/token", "SMARTCAR_CONNECT_ORIGIN": o.Connect,
		"SMARTCAR_MANAGEMENT_API_ORIGIN": o.Management,
	} {
		t.Setenv(k, v)
	}
	ctx := t.Context()

	// 1. Auth URL → Connect → redirect with a code.
	auth, err := smartcar.NewAuthClient()
	if err != nil {
		t.Fatal(err)
	}
	authURL := auth.AuthURL([]string{"read_vehicle_info", "read_odometer", "read_location", "control_security", "read_battery", "read_fuel"},
		&smartcar.AuthURLOptions{State: "s-42", ForcePrompt: true})
	code := followConnect(t, authURL, "s-42")

	// 2. Exchange the code, then the refresh token.
	access, err := auth.ExchangeCode(ctx, code)
	if err != nil {
		t.Fatalf("ExchangeCode: %v", err)
	}
	if access.AccessExpired(time.Now()) || access.TokenType != "Bearer" {
		t.Fatalf("fresh access = %v", access)
	}
	if _, err := auth.ExchangeCode(ctx, code); !isOAuth(err, "invalid_grant") {
		t.Errorf("reusing a code = %v, want invalid_grant", err)
	}
	fresh, err := auth.ExchangeRefreshToken(ctx, access.RefreshToken)
	if err != nil {
		t.Fatalf("ExchangeRefreshToken: %v", err)
	}
	if fresh.RefreshToken == access.RefreshToken {
		t.Error("refresh did not rotate the refresh token")
	}

	// 3. Vehicles, then data and commands.
	vehicles, err := smartcar.GetVehicles(ctx, fresh.AccessToken, &smartcar.Paging{Limit: 2})
	if err != nil {
		t.Fatalf("GetVehicles: %v", err)
	}
	if len(vehicles.Vehicles) != 2 || vehicles.Paging.Count != 3 {
		t.Fatalf("first page = %+v, want 2 of 3", vehicles)
	}
	user, err := smartcar.GetUser(ctx, fresh.AccessToken)
	if err != nil || user.ID == "" {
		t.Fatalf("GetUser = %+v, %v", user, err)
	}
	v := smartcar.NewVehicle(vehicles.Vehicles[0], fresh.AccessToken)
	odo, err := v.Odometer(ctx)
	if err != nil {
		t.Fatalf("Odometer: %v", err)
	}
	if odo.Distance <= 0 || odo.Meta.RequestID == "" || odo.Meta.DataAge.IsZero() || odo.Meta.UnitSystem != smartcar.Metric {
		t.Errorf("odometer = %+v", odo)
	}
	info, err := v.Info(ctx)
	if err != nil || info.Make == "" || info.ID != v.ID() {
		t.Errorf("Info = %+v, %v", info, err)
	}
	if _, err := v.Lock(ctx); err != nil {
		t.Errorf("Lock: %v", err)
	}
	if ls, err := v.LockStatus(ctx); err == nil {
		t.Errorf("LockStatus without read_security = %+v, want a PERMISSION error", ls)
	} else if e, ok := smartcar.AsError(err); !ok || e.Type != smartcar.TypePermission || e.StatusCode != http.StatusForbidden {
		t.Errorf("LockStatus without read_security = %v, want 403 PERMISSION", err)
	}
	batch, err := v.Batch(ctx, []string{"/location", "/odometer", "/fuel", "/battery"})
	if err != nil {
		t.Fatalf("Batch: %v", err)
	}
	if loc, err := batch.Location(); err != nil || loc.Latitude == 0 {
		t.Errorf("batch location = %+v, %v", loc, err)
	}
	_, fuelErr := batch.Fuel()
	_, batErr := batch.Battery()
	if (fuelErr == nil) == (batErr == nil) {
		t.Errorf("a vehicle has fuel or battery, not both or neither: fuel %v, battery %v", fuelErr, batErr)
	}

	// 4. A Retry-After on one batch item is that item's own error.
	sim.SetFault(v.ID(), "/odometer", smartcartest.Fault{Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: 30 * time.Second, Times: 1})
	batch, err = v.Batch(ctx, []string{"/odometer", "/location"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := batch.Odometer(); err == nil {
		t.Error("rate-limited odometer item succeeded")
	} else if d, ok := smartcar.RetryAfter(err); !ok || d != 30*time.Second {
		t.Errorf("item error %v: RetryAfter = %v, want 30s", err, d)
	}
	if _, err := batch.Location(); err != nil {
		t.Errorf("the other item failed too: %v", err)
	}

	// 5. The spent refresh token works within the grace period only.
	time.Sleep(300 * time.Millisecond)
	if _, err := auth.ExchangeRefreshToken(ctx, access.RefreshToken); !isOAuth(err, "invalid_grant") {
		t.Errorf("spent refresh token after the grace = %v, want invalid_grant", err)
	}
	if s := sim.Stats(); s.SpentRefreshReuse != 1 {
		t.Errorf("simulator counted %d spent-token reuses, want the 1 this test made", s.SpentRefreshReuse)
	}

	// 6. Management API: the grant's connections, then disconnect one vehicle.
	conns, err := smartcar.GetConnections(ctx, sim.ManagementToken, nil)
	if err != nil || len(conns.Connections) == 0 {
		t.Fatalf("GetConnections = %+v, %v", conns, err)
	}
	if _, err := v.Disconnect(ctx); err != nil {
		t.Fatalf("Disconnect: %v", err)
	}
	if _, err := v.Odometer(ctx); err == nil {
		t.Error("a disconnected vehicle still answers")
	}
}

// followConnect loads the Connect URL like a browser would and returns the
// code from the redirect to the application.
func followConnect(t *testing.T, authURL, state string) string {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, authURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode/100 != 3 {
		t.Fatalf("Connect answered %s, Location %q", resp.Status, resp.Header.Get("Location"))
	}
	q := loc.Query()
	if q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("redirect %s: want code and state %q", loc, state)
	}
	return q.Get("code")
}

func isOAuth(err error, code string) bool {
	var e *smartcar.Error
	return errors.As(err, &e) && e.Type == smartcar.TypeOAuth && e.Code == code
}
