package smartcar_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// fakeSmartcar stands in for Smartcar's auth and API hosts in the examples.
func fakeSmartcar() *httptest.Server {
	mux := http.NewServeMux()
	json := func(w http.ResponseWriter, status int, body string) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("SC-Request-Id", "5dea93a1")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.FormValue("code") == "auth-code":
			json(w, 200, `{"access_token":"access-1","token_type":"Bearer","expires_in":7200,"refresh_token":"refresh-1"}`)
		case r.FormValue("refresh_token") == "refresh-1":
			json(w, 200, `{"access_token":"access-2","token_type":"Bearer","expires_in":7200,"refresh_token":"refresh-2"}`)
		default:
			json(w, 400, `{"error":"invalid_grant","error_description":"Invalid refresh_token."}`)
		}
	})
	authorized := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer access-2" {
				json(w, 401, `{"type":"AUTHENTICATION","code":null,"description":"The provided token is invalid."}`)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /v2.0/vehicles", authorized(func(w http.ResponseWriter, r *http.Request) {
		json(w, 200, `{"paging":{"count":1,"offset":0},"vehicles":["36ab27d0"]}`)
	}))
	mux.HandleFunc("GET /v2.0/vehicles/36ab27d0/odometer", authorized(func(w http.ResponseWriter, r *http.Request) {
		json(w, 200, `{"distance":104.32}`)
	}))
	mux.HandleFunc("GET /v2.0/vehicles/36ab27d0", authorized(func(w http.ResponseWriter, r *http.Request) {
		json(w, 200, `{"id":"36ab27d0","make":"TESLA","model":"Model S","year":2014}`)
	}))
	mux.HandleFunc("POST /v2.0/vehicles/36ab27d0/batch", authorized(func(w http.ResponseWriter, r *http.Request) {
		json(w, 200, `{"responses":[
			{"path":"/location","code":200,"headers":{"sc-data-age":"2024-05-01T10:00:00.000Z"},"body":{"latitude":37.4292,"longitude":-122.1381}},
			{"path":"/fuel","code":429,"headers":{"retry-after":"30"},"body":{"type":"RATE_LIMIT","code":"VEHICLE","description":"Slow down."}}]}`)
	}))
	mux.HandleFunc("GET /v2.0/vehicles/36ab27d0/fuel", authorized(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		json(w, 429, `{"type":"RATE_LIMIT","code":"VEHICLE","description":"Slow down.","resolution":{"type":"RETRY_LATER"}}`)
	}))
	return httptest.NewServer(mux)
}

// Example follows the flow of Smartcar's SDK README: Connect URL, code
// exchange, refresh, vehicles, odometer, info, batch and error handling.
// In production the credentials come from SMARTCAR_CLIENT_ID,
// SMARTCAR_CLIENT_SECRET and SMARTCAR_REDIRECT_URI and the origins are
// Smartcar's; here they point at a local fake.
func Example() {
	srv := fakeSmartcar()
	defer srv.Close()
	ctx := context.Background()
	client := smartcar.NewClient(
		smartcar.WithAPIOrigin(srv.URL),
		smartcar.WithAuthOrigin(srv.URL),
		smartcar.WithConnectOrigin("https://connect.smartcar.com"),
	)

	auth, err := smartcar.NewAuthClient(
		smartcar.WithClientID("my-client-id"),
		smartcar.WithClientSecret("my-client-secret"),
		smartcar.WithRedirectURI("https://example.com/callback"),
		smartcar.WithClient(client),
	)
	if err != nil {
		fmt.Println(err)
		return
	}

	// 1. Send the user to Smartcar Connect.
	fmt.Println(auth.AuthURL([]string{"read_vehicle_info", "read_odometer"}, &smartcar.AuthURLOptions{State: "xyz"}))

	// 2. Exchange the code Connect sends back to the redirect URI.
	access, err := auth.ExchangeCode(ctx, "auth-code")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("token type:", access.TokenType, "expires in:", access.ExpiresIn)

	// 3. Access tokens last 2 hours: refresh, and store the new pair first.
	access, err = auth.ExchangeRefreshToken(ctx, access.RefreshToken)
	if err != nil {
		fmt.Println(err)
		return
	}

	// 4. The user's vehicles.
	vehicles, err := client.GetVehicles(ctx, access.AccessToken, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("vehicles:", vehicles.Vehicles)

	// 5. Data from one vehicle.
	vehicle := client.Vehicle(vehicles.Vehicles[0], access.AccessToken)
	odometer, err := vehicle.Odometer(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("odometer:", odometer.Distance, "request id:", odometer.Meta.RequestID)
	info, err := vehicle.Info(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(info.Make, info.Model, info.Year)

	// 6. Several paths in one request; each path succeeds or fails alone.
	batch, err := vehicle.Batch(ctx, []string{"/location", "/fuel"})
	if err != nil {
		fmt.Println(err)
		return
	}
	location, err := batch.Location()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("location:", location.Latitude, location.Longitude, "data age:", location.Meta.DataAge.Format("2006-01-02"))
	if _, err := batch.Fuel(); err != nil {
		if wait, ok := smartcar.RetryAfter(err); ok {
			fmt.Println("fuel: retry after", wait)
		}
	}

	// 7. Errors are *smartcar.Error.
	_, err = vehicle.Fuel(ctx)
	var scErr *smartcar.Error
	if errors.As(err, &scErr) {
		fmt.Println(scErr.Type, scErr.Code, scErr.RetryAfter, "retryable:", scErr.Retryable())
	}
	// Output:
	// https://connect.smartcar.com/oauth/authorize?response_type=code&client_id=my-client-id&redirect_uri=https%3A%2F%2Fexample.com%2Fcallback&approval_prompt=auto&scope=read_vehicle_info%20read_odometer&mode=live&state=xyz
	// token type: Bearer expires in: 7200
	// vehicles: [36ab27d0]
	// odometer: 104.32 request id: 5dea93a1
	// TESLA Model S 2014
	// location: 37.4292 -122.1381 data age: 2024-05-01
	// fuel: retry after 30s
	// RATE_LIMIT VEHICLE 30s retryable: true
}

// ExampleClient_Batch is how a poller fetches several signals of a vehicle
// without building a Vehicle.
func ExampleClient_Batch() {
	srv := fakeSmartcar()
	defer srv.Close()
	client := smartcar.NewClient(smartcar.WithAPIOrigin(srv.URL))

	batch, err := client.Batch(context.Background(), "access-2", "36ab27d0", []string{smartcar.PathLocation, smartcar.PathFuel})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, item := range batch.Items() {
		if item.Err != nil {
			fmt.Println(item.Path, "failed:", item.Err.Type, item.Err.Code, "retry after", item.Err.RetryAfter)
			continue
		}
		fmt.Println(item.Path, item.StatusCode, string(item.Body))
	}
	// Output:
	// /location 200 {"latitude":37.4292,"longitude":-122.1381}
	// /fuel failed: RATE_LIMIT VEHICLE retry after 30s
}

// ExampleAuthClient_ExchangeRefreshToken shows the one error that means the
// user must reconnect.
func ExampleAuthClient_ExchangeRefreshToken() {
	srv := fakeSmartcar()
	defer srv.Close()
	auth, err := smartcar.NewAuthClient(
		smartcar.WithClientID("my-client-id"),
		smartcar.WithClientSecret("my-client-secret"),
		smartcar.WithRedirectURI("https://example.com/callback"),
		smartcar.WithClient(smartcar.NewClient(smartcar.WithAuthOrigin(srv.URL+"/oauth/token"))),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = auth.ExchangeRefreshToken(context.Background(), "already-used")
	if e, ok := smartcar.AsError(err); ok && e.NeedsReauth() {
		fmt.Println("reconnect the user:", e)
	}
	// Output:
	// reconnect the user: OAUTH:invalid_grant - Invalid refresh_token. (HTTP 400) request_id=5dea93a1
}

// ExampleHashChallenge answers a webhook VERIFY request.
func ExampleHashChallenge() {
	fmt.Printf(`{"challenge":%q}`+"\n", smartcar.HashChallenge("amt", "challenge"))
	// Output:
	// {"challenge":"9baf5a7464bd86740ad5a06e439dcf535a075022ed2c92d74efacf646d79328e"}
}
