package smartcar_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestAppClient_BeforeRetry: the retry of a call answered 401 waits for
// BeforeRetry (a rate limiter's slot, in the daemon), which a call that
// succeeds at once never meets; when BeforeRetry fails, its error is
// returned and the call is not sent again.
func TestAppClient_BeforeRetry(t *testing.T) {
	sim := smartcartest.NewServer(smartcartest.WithSeed(5), smartcartest.WithVehicles(1), smartcartest.WithUsers(1))
	defer sim.Close()
	defer http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	setSimEnv(t, sim)
	errNoSlot := errors.New("no slot")
	var waits atomic.Int32
	var refuse atomic.Bool
	app, err := smartcar.NewAppClient(&smartcar.AppClientOptions{BeforeRetry: func(ctx context.Context) error {
		waits.Add(1)
		if refuse.Load() {
			return errNoSlot
		}
		return ctx.Err()
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	list := func() error {
		_, err := app.ListConnections(ctx, &smartcar.ConnectionsFilter{})
		return err
	}
	if err := list(); err != nil {
		t.Fatal(err)
	}
	if n := waits.Load(); n != 0 {
		t.Errorf("BeforeRetry called %d times for a call answered at once", n)
	}

	sim.RevokeAppTokens()
	mark := len(sim.Requests())
	if err := list(); err != nil {
		t.Fatalf("after the revocation: %v", err)
	}
	if n, reqs := waits.Load(), requestsSince(sim, mark); n != 1 || len(reqs) != 3 || reqs[2].Status != http.StatusOK {
		t.Errorf("after the revocation: BeforeRetry called %d times (want 1), %d requests (want 401, token, retry)", n, len(reqs))
	}

	sim.RevokeAppTokens()
	refuse.Store(true)
	mark = len(sim.Requests())
	if err := list(); !errors.Is(err, errNoSlot) {
		t.Errorf("BeforeRetry refusing: %v, want its error", err)
	}
	reqs := requestsSince(sim, mark)
	if len(reqs) != 2 || reqs[0].Status != http.StatusUnauthorized || reqs[1].Status != http.StatusOK {
		var got []string
		for _, r := range reqs {
			got = append(got, r.Method+" "+r.Route+" "+http.StatusText(r.Status))
		}
		t.Errorf("BeforeRetry refusing: requests %q, want the 401 and a token request, no retry", got)
	}
}
