package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/internal/daemon"
)

func TestRun_Usage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Usage:"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"run"}, 2, "run needs --config FILE"},
		{[]string{"connect", "--config", "x.yaml"}, 1, "x.yaml"},
		{[]string{"vehicles"}, 2, "vehicles needs list or remove"},
		{[]string{"config", "check"}, 2, "config validate [--strict] FILE"},
		{[]string{"demo", "--vehicles", "0"}, 2, "--vehicles must be >= 1"},
		{[]string{"demo", "--api", "v4"}, 2, "--api must be v3 or v2"},
		{[]string{"migrate"}, 2, "migrate v3 --config FILE"},
		{[]string{"migrate", "v3"}, 2, "migrate v3 needs --config FILE"},
		{[]string{"help"}, 0, "Usage:"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, "_"), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String()+stderr.String(), tt.want) {
				t.Errorf("run(%q) = %d, output %q; want %d and %q", tt.args, code, stdout.String()+stderr.String(), tt.code, tt.want)
			}
		})
	}
}

// TestRun_Help asks every command and subcommand for help: its usage on
// stdout, exit 0, nothing on stderr.
func TestRun_Help(t *testing.T) {
	tests := []struct {
		args []string
		flag string // a flag the usage lists ("" for none)
	}{
		{[]string{"demo"}, "-vehicles"},
		{[]string{"run"}, "-config"},
		{[]string{"connect"}, "-refresh-token"},
		{[]string{"vehicles"}, ""},
		{[]string{"vehicles", "list"}, "-config"},
		{[]string{"vehicles", "remove"}, "-config"},
		{[]string{"webhooks"}, ""},
		{[]string{"webhooks", "subscribe"}, "-vehicles"},
		{[]string{"webhooks", "list"}, "-webhook"},
		{[]string{"tail"}, "-signal"},
		{[]string{"config"}, ""},
		{[]string{"config", "validate"}, ""},
		{[]string{"tokens"}, ""},
		{[]string{"tokens", "rotate-key"}, "-config"},
		{[]string{"migrate"}, ""},
		{[]string{"migrate", "v3"}, "-config"},
	}
	tested := map[string]bool{}
	for _, tt := range tests {
		name := strings.Join(tt.args, " ")
		tested[name] = true
		for _, help := range []string{"-h", "--help"} {
			t.Run(strings.ReplaceAll(name, " ", "_")+help, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				code := run(t.Context(), append(tt.args, help), &stdout, &stderr)
				want := "Usage: smartcar-poller " + commands[name].synopsis + "\n"
				if code != 0 || !strings.HasPrefix(stdout.String(), want) || stderr.Len() != 0 {
					t.Fatalf("exit %d\nstdout: %s\nstderr: %s\nwant 0 and stdout starting %q", code, stdout.String(), stderr.String(), want)
				}
				if tt.flag != "" && !strings.Contains(stdout.String(), "\n  "+tt.flag+" ") {
					t.Errorf("usage lacks %s:\n%s", tt.flag, stdout.String())
				}
				if tt.flag == "" && len(tt.args) == 1 && !strings.Contains(stdout.String(), "Commands:\n  smartcar-poller "+name+" ") {
					t.Errorf("usage lacks the subcommands:\n%s", stdout.String())
				}
			})
		}
	}
	for name := range commands {
		if !tested[name] {
			t.Errorf("command %q has help but no test here", name)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"--help"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "COMMAND --help") {
		t.Errorf("--help: exit %d, stdout %q", code, stdout.String())
	}
}

// TestConfigValidate_agreesWithRun gives config validate and run the same
// files: what run refuses before connecting anywhere, validate reports with
// the same message; what validate accepts run does not refuse for it.
func TestConfigValidate_agreesWithRun(t *testing.T) {
	t.Setenv("SMARTCAR_CLIENT_ID", "")
	t.Setenv("SMARTCAR_CLIENT_SECRET", "")
	t.Setenv("SMARTCAR_REDIRECT_URI", "")
	t.Setenv("SCP_TEST_UNSET_KEY", "")
	os.Unsetenv("SCP_TEST_UNSET_KEY")
	dir := t.TempDir()
	base := "nats: {url: ''}\nredis: {url: ''}\ndata_dir: " + filepath.Join(dir, "data") + "\nhttp: {listen: ''}\n" +
		"schedules: [{name: s, cron: '@hourly', paths: [/odometer]}]\n"
	creds := "smartcar: {client_id: id, client_secret: secret}\n"
	tests := []struct {
		name, yaml string
		want       string // the message of both; "" when both accept
	}{
		{"simulated mode without credentials", base + "smartcar: {mode: simulated}\n",
			"simulated.yaml:6: smartcar.client_id: missing (set it or SMARTCAR_CLIENT_ID)"},
		{"key variable not set", base + creds + "tokens: {encryption_key_env: SCP_TEST_UNSET_KEY}\n",
			"tokens.encryption_key_env: environment variable SCP_TEST_UNSET_KEY is not set"},
		{"no redirect URI", base + creds, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.Fields(tt.name)[0]+".yaml")
			writeFile(t, path, tt.yaml)
			var vout, verr bytes.Buffer
			vcode := run(t.Context(), []string{"config", "validate", path}, &vout, &verr)
			if tt.want == "" {
				if vcode != 0 || !strings.Contains(vout.String(), path+": ok") {
					t.Fatalf("validate = %d\nstdout: %s\nstderr: %s", vcode, vout.String(), verr.String())
				}
				// run gets past its checks: it is the daemon test's configuration.
				cfg, _, err := loadConfig("run", []string{"--config", path}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := daemon.Check(cfg); err != nil {
					t.Errorf("run would refuse what validate accepts: %v", err)
				}
				return
			}
			var rout, rerr bytes.Buffer
			rcode := run(t.Context(), []string{"run", "--config", path}, &rout, &rerr)
			if vcode != 1 || rcode != 1 || verr.String() != rerr.String() || !strings.Contains(verr.String(), tt.want) {
				t.Errorf("validate = %d %q\nrun      = %d %q\nwant both 1 with %q", vcode, verr.String(), rcode, rerr.String(), tt.want)
			}
		})
	}

	// connect --code without a redirect URI says what it needs.
	path := filepath.Join(dir, "no.yaml")
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"connect", "--config", path, "--code", "c"}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "connect --code needs smartcar.redirect_uri (or SMARTCAR_REDIRECT_URI)") {
		t.Errorf("connect --code without a redirect URI: exit %d, stderr %q", code, stderr.String())
	}
}
