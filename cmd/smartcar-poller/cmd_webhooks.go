package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"iter"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// Bounds of webhooks subscribe --batch: vehicles per Management API request.
const (
	defaultSubscribeBatch = 100
	maxSubscribeBatch     = 1000
)

// webhookManager is what the webhooks commands call of the Management API
// v3; *smartcar.AppClient implements it.
type webhookManager interface {
	WebhookSubscriptions(ctx context.Context, webhookID string) iter.Seq2[smartcar.Subscription, error]
	SubscribeVehicles(ctx context.Context, webhookID string, vehicleIDs ...string) (*smartcar.SubscriptionChange, error)
}

var _ webhookManager = (*smartcar.AppClient)(nil)

// cmdWebhooks runs "webhooks subscribe" and "webhooks list": the
// registered vehicles' subscriptions to a webhook, through the Management
// API v3 with the application's client credentials (no user token). The
// registry is read from the store, as "vehicles list" does.
func cmdWebhooks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if helpRequested(args) {
		return &helpError{name: "webhooks"}
	}
	if len(args) == 0 || (args[0] != "subscribe" && args[0] != "list") {
		return fmt.Errorf("%w: webhooks needs subscribe or list", errUsage)
	}
	sub := args[0]
	var (
		webhookID, vehicles string
		batch               int
	)
	cfg, _, err := loadConfig("webhooks "+sub, args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&webhookID, "webhook", "", "the webhook's id (from the Smartcar Dashboard)")
		if sub == "subscribe" {
			fs.StringVar(&vehicles, "vehicles", "", "comma-separated registered vehicle ids (default: every registered vehicle not disconnected)")
			fs.IntVar(&batch, "batch", defaultSubscribeBatch, "vehicles per Management API request")
		}
	})
	if err != nil {
		return err
	}
	if webhookID == "" {
		return fmt.Errorf("%w: webhooks %s needs --webhook ID", errUsage, sub)
	}
	if sub == "subscribe" && (batch < 1 || batch > maxSubscribeBatch) {
		return fmt.Errorf("%w: --batch %d: want 1 to %d", errUsage, batch, maxSubscribeBatch)
	}
	mgmt, err := managementClient(cfg)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	app, err := open(ctx, cfg, log, openOptions{ConnectOnly: true, StoreOnly: true, Command: "webhooks " + sub})
	if err != nil {
		return err
	}
	defer app.Close()
	registered, err := app.Registry().ListVehicles(ctx)
	if err != nil {
		return fmt.Errorf("list vehicles: %w", err)
	}
	if sub == "list" {
		return listWebhook(ctx, mgmt, webhookID, registered, stdout)
	}
	ids, skipped, err := subscribeSelection(registered, splitList(vehicles))
	if err != nil {
		return err
	}
	return subscribeWebhook(ctx, mgmt, webhookID, ids, skipped, batch, stdout)
}

// managementClient is the application's Management API v3 client: the
// client credentials of cfg, origins from SMARTCAR_IAM_ORIGIN and
// SMARTCAR_MANAGEMENT_API_V3_ORIGIN (else Smartcar's).
func managementClient(cfg *config.Config) (*smartcar.AppClient, error) {
	c, err := smartcar.NewAppClient(&smartcar.AppClientOptions{
		ClientID:     cfg.Smartcar.ClientID,
		ClientSecret: cfg.Smartcar.ClientSecret.Reveal(),
		HTTPClient:   &http.Client{Timeout: cfg.Smartcar.Timeout},
	})
	if err != nil {
		return nil, fmt.Errorf("smartcar app client: %w", err)
	}
	return c, nil
}

// subscribeSelection returns the vehicles to subscribe: those asked for,
// each of which must be registered, or else every registered vehicle but
// the disconnected ones (Smartcar no longer knows them; counted in
// skipped).
func subscribeSelection(registered []registry.Vehicle, asked []string) (ids []string, skipped int, err error) {
	if len(asked) == 0 {
		for _, v := range registered {
			if v.Status == events.StatusDisconnected {
				skipped++
				continue
			}
			ids = append(ids, v.ID)
		}
		return ids, skipped, nil
	}
	known := map[string]bool{}
	for _, v := range registered {
		known[v.ID] = true
	}
	var unknown []string
	for _, id := range asked {
		switch {
		case !known[id]:
			unknown = append(unknown, id)
		case !slices.Contains(ids, id):
			ids = append(ids, id)
		}
	}
	if len(unknown) > 0 {
		return nil, 0, fmt.Errorf("not registered: %s (see vehicles list)", strings.Join(unknown, ", "))
	}
	return ids, 0, nil
}

// subscribeWebhook subscribes the vehicles ids not yet subscribed to the
// webhook, size per request, and reports each request. A failed request
// does not stop the others; the error says how many vehicles were left
// out.
func subscribeWebhook(ctx context.Context, mgmt webhookManager, webhookID string, ids []string, skipped, size int, out io.Writer) error {
	fmt.Fprintf(out, "webhook %s: %d vehicle(s) selected", webhookID, len(ids))
	if skipped > 0 {
		fmt.Fprintf(out, " (%d disconnected left out)", skipped)
	}
	fmt.Fprintln(out)
	subscribed := map[string]bool{}
	for s, err := range mgmt.WebhookSubscriptions(ctx, webhookID) {
		if err != nil {
			return fmt.Errorf("list subscriptions of webhook %s: %w", webhookID, err)
		}
		subscribed[s.VehicleID] = true
	}
	var todo []string
	for _, id := range ids {
		if !subscribed[id] {
			todo = append(todo, id)
		}
	}
	if n := len(ids) - len(todo); n > 0 {
		fmt.Fprintf(out, "already subscribed: %d\n", n)
	}
	if len(todo) == 0 {
		fmt.Fprintln(out, "nothing to subscribe")
		return nil
	}
	batches := slices.Collect(slices.Chunk(todo, size))
	var failed, failedRequests int
	for i, b := range batches {
		fmt.Fprintf(out, "request %d/%d: %d vehicle(s): ", i+1, len(batches), len(b))
		res, err := mgmt.SubscribeVehicles(ctx, webhookID, b...)
		if err != nil {
			failed += len(b)
			failedRequests++
			fmt.Fprintf(out, "failed: %v\n", err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		fmt.Fprintf(out, "HTTP %d %s\n", res.StatusCode, res.Message)
	}
	fmt.Fprintf(out, "subscribed %d vehicle(s) in %d request(s)\n", len(todo)-failed, len(batches)-failedRequests)
	if failed > 0 {
		return fmt.Errorf("webhook %s: %d vehicle(s) not subscribed (%d request(s) failed)", webhookID, failed, failedRequests)
	}
	return nil
}

// listWebhook prints the webhook's subscriptions, each with the vehicle's
// registry status, and how many registered vehicles it does not have.
func listWebhook(ctx context.Context, mgmt webhookManager, webhookID string, registered []registry.Vehicle, out io.Writer) error {
	byID := map[string]registry.Vehicle{}
	for _, v := range registered {
		byID[v.ID] = v
	}
	var subs []smartcar.Subscription
	for s, err := range mgmt.WebhookSubscriptions(ctx, webhookID) {
		if err != nil {
			return fmt.Errorf("list subscriptions of webhook %s: %w", webhookID, err)
		}
		subs = append(subs, s)
	}
	slices.SortFunc(subs, func(a, b smartcar.Subscription) int { return strings.Compare(a.VehicleID, b.VehicleID) })
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VEHICLE\tUSER\tSUBSCRIBED\tREGISTRY")
	subscribed := map[string]bool{}
	for _, s := range subs {
		subscribed[s.VehicleID] = true
		reg := "not registered"
		if v, ok := byID[s.VehicleID]; ok {
			reg = string(v.Status)
		}
		at := "-"
		if !s.CreatedAt.IsZero() {
			at = s.CreatedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.VehicleID, s.UserID, at, reg)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	missing := 0
	for _, v := range registered {
		if !subscribed[v.ID] && v.Status != events.StatusDisconnected {
			missing++
		}
	}
	fmt.Fprintf(out, "%d subscription(s); %d registered vehicle(s) not subscribed\n", len(subs), missing)
	return nil
}
