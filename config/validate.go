package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smartcar-poller/smartcar-poller/internal/natsname"
)

// Option changes what Parse, Load and Validate check.
type Option func(*options)

type options struct{ skipCredentials bool }

// SkipCredentials accepts a configuration without client_id or
// client_secret (nor webhooks.management_token), for commands that never
// call Smartcar.
func SkipCredentials() Option { return func(o *options) { o.skipCredentials = true } }

// Validate checks a Config built in code, with the same rules as Parse (but
// no environment fallbacks). Its Errors carry key paths and no file or line.
func (c *Config) Validate(opts ...Option) error {
	v := newValidator("", nil, nil, opts)
	v.config(c)
	if len(v.errs) > 0 {
		return v.errs
	}
	return nil
}

var (
	namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)   // schedule name, vehicle id
	tagPattern  = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`) // vehicle tag
)

// validator checks a decoded Config; lines maps key paths to lines and bad
// marks paths that failed to decode (not checked again).
type validator struct {
	file  string
	lines map[string]int
	bad   map[string]bool
	opts  options
	errs  Errors
}

func newValidator(file string, lines map[string]int, bad map[string]bool, opts []Option) *validator {
	v := &validator{file: file, lines: lines, bad: bad}
	for _, o := range opts {
		o(&v.opts)
	}
	return v
}

// line is the line of path, else of its nearest parent, else 1 (0 without a file).
func (v *validator) line(path string) int {
	for p := path; p != ""; p = parentKey(p) {
		if l, ok := v.lines[p]; ok {
			return l
		}
	}
	if v.file == "" {
		return 0
	}
	return 1
}

func parentKey(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.file, Line: v.line(path), Key: path, Problem: fmt.Sprintf(format, args...)})
}

// check reports a problem at path unless ok or path already failed to decode.
func (v *validator) check(ok bool, path, format string, args ...any) {
	if !ok && !v.bad[path] {
		v.errorf(path, format, args...)
	}
}

// fail reports a problem at path unless path already failed to decode.
func (v *validator) fail(path, format string, args ...any) { v.check(false, path, format, args...) }

func (v *validator) config(c *Config) {
	v.urls("nats.url", c.NATS.URL, "nats", "tls", "ws", "wss")
	v.check(natsname.Valid(c.NATS.SubjectPrefix), "nats.subject_prefix",
		"invalid subject prefix %q (want 1 to %d letters, digits, _ or -)", truncate(c.NATS.SubjectPrefix, 40), natsname.MaxLen)
	v.nonNegative("nats.events_max_age", c.NATS.EventsMaxAge)
	v.check(c.NATS.Replicas >= 1 && c.NATS.Replicas <= 5, "nats.replicas", "must be 1 to 5, got %d", c.NATS.Replicas)

	v.redis(c.Redis)
	v.check(c.DataDir != "", "data_dir", "must not be empty")

	v.smartcar(&c.Smartcar)

	w := c.Workers
	v.check(w.Concurrency >= 1, "workers.concurrency", "must be at least 1, got %d", w.Concurrency)
	v.positive("workers.ack_wait", w.AckWait)
	v.positive("workers.shutdown_grace", w.ShutdownGrace)
	v.check(w.MaxAttempts >= 1, "workers.max_attempts", "must be at least 1, got %d", w.MaxAttempts)

	v.listen("http.listen", c.HTTP.Listen)
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "auto", "text", "json")

	v.onboarding(c)
	v.security(c)
	v.schedules(c.Schedules, c.Smartcar.API)
}

func (v *validator) smartcar(s *Smartcar) {
	v.oneOf("smartcar.api", s.API, APIV3, APIV2)
	v.oneOf("smartcar.unit_system", s.UnitSystem, "metric", "imperial")
	v.oneOf("smartcar.mode", string(s.Mode), string(ModeLive), string(ModeTest), string(ModeSimulated))
	// Every mode and both APIs need the client id and secret (for the
	// application token on v3, to refresh tokens on v2).
	if !v.opts.skipCredentials {
		v.check(s.ClientID != "", "smartcar.client_id", "missing (set it or SMARTCAR_CLIENT_ID)")
		v.check(s.ClientSecret != "", "smartcar.client_secret", "missing (set it or SMARTCAR_CLIENT_SECRET)")
	}
	if s.RedirectURI != "" {
		u, err := url.Parse(s.RedirectURI)
		v.check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "",
			"smartcar.redirect_uri", "invalid URL (want an absolute http or https URL)")
	}
	v.check(s.RateLimit.RequestsPerMinute > 0, "smartcar.rate_limit.requests_per_minute",
		"must be positive, got %g", s.RateLimit.RequestsPerMinute)
	v.check(s.RateLimit.Burst >= 1, "smartcar.rate_limit.burst", "must be at least 1, got %d", s.RateLimit.Burst)
	v.check(s.MonthlyQuota >= 0, "smartcar.monthly_quota", "must not be negative, got %d (0 means unknown)", s.MonthlyQuota)
	v.positive("smartcar.timeout", s.Timeout)
}

func (v *validator) nonNegative(path string, d time.Duration) {
	v.check(d >= 0, path, "negative duration %s", d)
}

func (v *validator) positive(path string, d time.Duration) {
	if d < 0 {
		v.nonNegative(path, d)
		return
	}
	v.check(d > 0, path, "must be positive, got %s", d)
}

func (v *validator) oneOf(path, got string, want ...string) {
	v.check(slices.Contains(want, got), path, "invalid value %q (want %s)", truncate(got, 40), orList(want))
}

// orList formats a, b, c as `"a", "b" or "c"`.
func orList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// urls checks a comma-separated list of URLs ("" is the embedded default).
// The messages never echo a URL: it may hold a password.
func (v *validator) urls(path, list string, schemes ...string) {
	if list == "" {
		return
	}
	for i, raw := range strings.Split(list, ",") {
		// A YAML list names the item by its key path and line; a
		// comma-separated string by its position.
		key, where := path, ""
		if item := fmt.Sprintf("%s[%d]", path, i); v.lines[item] != 0 {
			key = item
		} else if strings.Contains(list, ",") {
			where = fmt.Sprintf(" (item %d)", i+1)
		}
		u, err := url.Parse(strings.TrimSpace(raw))
		switch {
		case err != nil || u.Opaque != "":
			v.fail(key, "invalid URL%s", where)
		case !slices.Contains(schemes, u.Scheme):
			v.fail(key, "invalid URL%s: scheme %q (want %s)", where, truncate(u.Scheme, 20), orList(schemes))
		case u.Scheme == "unix" && u.Path == "":
			v.fail(key, "invalid URL%s: no socket path", where)
		case u.Scheme != "unix" && u.Hostname() == "":
			v.fail(key, "invalid URL%s: no host", where)
		case u.Port() != "" && !validPort(u.Port()):
			v.fail(key, "invalid URL%s: bad port", where)
		case strings.HasPrefix(u.Scheme, "redis") && !validRedisDB(u.Path):
			v.fail(key, "invalid URL%s: path must be a database number (/0)", where)
		}
	}
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 65535
}

func validRedisDB(p string) bool {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0
}

func (v *validator) listen(path, addr string) {
	if addr == "" {
		return
	}
	_, port, err := net.SplitHostPort(addr)
	v.check(err == nil && validPort(port), path, "invalid address %q (want host:port, or \"\" to disable)", truncate(addr, 60))
}
