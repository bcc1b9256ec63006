// Package config reads the smartcar-poller YAML configuration into a Config:
// ${ENV} expansion, defaults, strict decoding (unknown keys and wrong types are
// errors) and validation, with every problem reported as
// "file:line: key.path: problem" and all problems returned together as Errors.
// Top-level keys starting with "x-" are ignored, as a place for YAML anchors;
// aliases and merge keys (<<) work everywhere. Projections estimates each
// schedule's monthly requests per vehicle, which Smartcar bills, and
// QuotaWarnings says which schedules go over smartcar.monthly_quota.
//
// Parse and Load check everything, including the Smartcar credentials
// (client_id and client_secret fall back to SMARTCAR_CLIENT_ID and
// SMARTCAR_CLIENT_SECRET) in every mode, since the daemon refreshes tokens
// in every mode; SkipCredentials turns the check off for commands that never
// call Smartcar (tail, vehicles, tokens rotate-key). A Config built in code (Default, then changed) is
// checked with Config.Validate, which takes the same options.
//
// The client secret is a Secret: it prints, logs and marshals as REDACTED.
// Config's String, LogValue, MarshalYAML and MarshalJSON also redact the
// credentials in the NATS and Redis URLs. No error message contains the client
// secret or a URL (a value of the wrong type is quoted, so a secret put under
// another key would show).
//
// config owns only the file format; it imports no other package of this
// module but internal/natsname, the rule for names on NATS (the subject
// prefix), which has no dependencies.
// cmd maps a Config into each package's own settings.
package config
