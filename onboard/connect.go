package onboard

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/smartcar-poller/smartcar-poller/marks"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// stateCookie binds a Connect state to the browser that started it, so a
// callback URL sent to someone else (login CSRF) is refused.
const stateCookie = "smartcar_poller_connect"

// ServeConnect is GET /connect: it keeps a fresh random state in the store
// (single use, Config.StateTTL) and in a cookie, and redirects to Smartcar
// Connect. ?force=true always shows the consent screen; ?vin=... limits
// Connect to that vehicle (e.g. one in needs_reauth).
func (h *Handler) ServeConnect(w http.ResponseWriter, r *http.Request) {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	state := base64.RawURLEncoding.EncodeToString(b)
	if err := h.d.Marks.PutConnectState(r.Context(), state, h.cfg.StateTTL); err != nil {
		h.log.ErrorContext(r.Context(), "store connect state", "err", err)
		h.render(w, http.StatusServiceUnavailable, "error", errorPage{
			Title: "Connect unavailable", Message: "The service cannot start Connect right now. Please try again later."})
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: stateCookie, Value: state, Path: "/", MaxAge: int(h.cfg.StateTTL.Seconds()),
		HttpOnly: true, Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https", SameSite: http.SameSiteLaxMode,
	})
	opts := &smartcar.AuthURLOptions{State: state, ForcePrompt: r.URL.Query().Get("force") == "true"}
	if vin := r.URL.Query().Get("vin"); vin != "" {
		opts.SingleSelect = &smartcar.SingleSelect{VIN: vin}
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, h.d.Auth.AuthURL(h.cfg.Scopes, opts), http.StatusFound)
}

// ServeCallback is GET /callback, where Smartcar Connect redirects to.
func (h *Handler) ServeCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	state := q.Get("state")
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	stateErr := h.takeState(r, state)
	if code := q.Get("error"); code != "" {
		h.stats.connectErrors.Add(1)
		msg, ok := connectErrors[code]
		if !ok {
			msg = "Smartcar Connect did not complete."
		}
		h.log.InfoContext(ctx, "connect refused", "error", code)
		h.render(w, http.StatusBadRequest, "error", errorPage{
			Title: "Vehicle not connected", Message: msg, Code: code, Description: q.Get("error_description"), Retry: "connect"})
		return
	}
	if stateErr != nil {
		h.stats.connectErrors.Add(1)
		if !errors.Is(stateErr, marks.ErrNotFound) {
			h.log.ErrorContext(ctx, "check connect state", "err", stateErr)
			h.render(w, http.StatusServiceUnavailable, "error", errorPage{
				Title: "Connect unavailable", Message: "The service cannot finish Connect right now. Please try again later."})
			return
		}
		h.log.InfoContext(ctx, "connect callback with an unknown, expired or used state")
		h.render(w, http.StatusBadRequest, "error", errorPage{Title: "Link expired",
			Message: "This Connect link is unknown, has expired or was already used. Please start again.", Retry: "connect"})
		return
	}
	code := q.Get("code")
	if code == "" {
		h.stats.connectErrors.Add(1)
		h.render(w, http.StatusBadRequest, "error", errorPage{Title: "Vehicle not connected",
			Message: "Smartcar sent no authorization code.", Retry: "connect"})
		return
	}
	access, err := h.d.Auth.ExchangeCode(ctx, code)
	if err != nil {
		h.stats.connectErrors.Add(1)
		h.log.WarnContext(ctx, "exchange connect code", "err", err)
		h.render(w, http.StatusBadGateway, "error", errorPage{Title: "Vehicle not connected",
			Message: "Smartcar did not accept the authorization. Please start again.", Retry: "connect"})
		return
	}
	ids, err := h.ConnectGrant(ctx, access, q.Get("user_id"), nil)
	if err != nil {
		h.stats.connectErrors.Add(1)
		status, msg := http.StatusInternalServerError, "The vehicles could not be registered. Please try again later."
		if errors.Is(err, ErrNoVehicles) {
			status, msg = http.StatusBadRequest, "No vehicle was shared with this application."
		}
		h.log.ErrorContext(ctx, "connect grant", "err", err)
		h.render(w, status, "error", errorPage{Title: "Vehicle not connected", Message: msg, Retry: "connect"})
		return
	}
	h.stats.connected.Add(1)
	h.render(w, http.StatusOK, "connected", connectedPage{Title: "Vehicle connected", Vehicles: ids})
}

// takeState consumes state if it is the one this browser started with.
func (h *Handler) takeState(r *http.Request, state string) error {
	c, err := r.Cookie(stateCookie)
	if state == "" || err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) != 1 {
		return marks.ErrNotFound
	}
	return h.d.Marks.TakeConnectState(r.Context(), state)
}
