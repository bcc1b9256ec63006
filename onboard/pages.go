package onboard

import (
	"html/template"
	"net/http"
)

// pages are the small HTML pages of the Connect flow; html/template escapes
// every value (vehicle ids, Smartcar's error descriptions).
var pages = template.Must(template.New("layout").Parse(`{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}code{background:#eee;padding:0 .2em}</style>
</head><body><h1>{{.Title}}</h1>{{end}}
{{define "connected"}}{{template "head" .}}
<p>{{len .Vehicles}} vehicle(s) connected. Their data will be polled on the configured schedules.</p>
<ul>{{range .Vehicles}}<li><code>{{.}}</code></li>{{end}}</ul>
</body></html>{{end}}
{{define "error"}}{{template "head" .}}
<p>{{.Message}}</p>
{{if .Code}}<p>Smartcar said: <code>{{.Code}}</code>{{if .Description}}: {{.Description}}{{end}}</p>{{end}}
{{if .Retry}}<p><a href="{{.Retry}}">Try again</a></p>{{end}}
</body></html>{{end}}`))

type connectedPage struct {
	Title    string
	Vehicles []string
}

type errorPage struct {
	Title, Message    string
	Code, Description string
	Retry             string // link to start again, or ""
}

// connectErrors explains the errors Smartcar Connect redirects with.
var connectErrors = map[string]string{
	"access_denied":        "You declined to connect your vehicle. Nothing was stored.",
	"vehicle_incompatible": "This vehicle is not compatible with Smartcar, or does not support what this application asks for.",
	"no_vehicles":          "No vehicle was selected or found in this account.",
	"invalid_subscription": "The vehicle's connected-services subscription is missing or inactive.",
	"configuration_error":  "Smartcar Connect is misconfigured for this application.",
	"server_error":         "Smartcar had a problem completing Connect. Please try again later.",
}

func (h *Handler) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		h.log.Warn("render page", "page", name, "err", err)
	}
}
