package deploy_test

import (
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/config"
)

// secretish names an environment variable or ConfigMap key that holds a
// secret and so must come from a Secret.
var secretish = regexp.MustCompile(`(?i)secret|password|passwd|token|key|creds|credential|seed`)

// TestManifests checks what each render runs: a non-root, locked-down pod
// with its probes on the daemon's HTTP port, a grace period above the
// longest Smartcar call, a PodDisruptionBudget and a metrics Service that
// select those pods, and secrets only by reference.
func TestManifests(t *testing.T) {
	for _, tc := range targets {
		t.Run(tc.name, func(t *testing.T) {
			ms := render(t, tc.dir)
			var d deployment
			ms.one(t, "Deployment", &d)
			pod := d.Spec.Template.Spec
			if len(pod.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(pod.Containers))
			}
			c := pod.Containers[0]

			t.Run("replicas", func(t *testing.T) {
				if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
					t.Errorf("replicas = %v, want 3", deref(d.Spec.Replicas))
				}
				if !selects(d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels) {
					t.Errorf("selector %v does not select the pod labels %v", d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels)
				}
			})
			t.Run("pod_security", func(t *testing.T) {
				sc := pod.SecurityContext
				if !isTrue(sc.RunAsNonRoot) {
					t.Error("pod runAsNonRoot is not true")
				}
				if sc.RunAsUser == nil || *sc.RunAsUser == 0 {
					t.Errorf("pod runAsUser = %v, want a non-root uid", deref(sc.RunAsUser))
				}
				if sc.SeccompProfile == nil || sc.SeccompProfile.Type != "RuntimeDefault" {
					t.Errorf("pod seccompProfile = %+v, want RuntimeDefault", sc.SeccompProfile)
				}
				if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
					t.Error("pod mounts a service account token; the daemon calls no Kubernetes API")
				}
				sa := ms.one(t, "ServiceAccount", nil)
				if pod.ServiceAccountName != sa.Metadata.Name {
					t.Errorf("serviceAccountName = %q, want the ServiceAccount %q", pod.ServiceAccountName, sa.Metadata.Name)
				}
			})
			t.Run("container_security", func(t *testing.T) {
				sc := c.SecurityContext
				if sc == nil {
					t.Fatal("container has no securityContext")
				}
				for _, f := range []struct {
					name string
					got  *bool
					want bool
				}{
					{"runAsNonRoot", sc.RunAsNonRoot, true},
					{"readOnlyRootFilesystem", sc.ReadOnlyRootFilesystem, true},
					{"allowPrivilegeEscalation", sc.AllowPrivilegeEscalation, false},
				} {
					if f.got == nil || *f.got != f.want {
						t.Errorf("%s = %v, want %v", f.name, deref(f.got), f.want)
					}
				}
				if isTrue(sc.Privileged) {
					t.Error("container is privileged")
				}
				if diff := cmp.Diff([]string{"ALL"}, sc.Capabilities.Drop); diff != "" {
					t.Errorf("capabilities.drop (-want +got):\n%s", diff)
				}
				if len(sc.Capabilities.Add) > 0 {
					t.Errorf("capabilities.add = %v, want none", sc.Capabilities.Add)
				}
				if sc.SeccompProfile == nil || sc.SeccompProfile.Type != "RuntimeDefault" {
					t.Errorf("container seccompProfile = %+v, want RuntimeDefault", sc.SeccompProfile)
				}
			})
			t.Run("resources", func(t *testing.T) {
				for _, r := range []struct {
					name string
					m    map[string]string
				}{
					{"requests.cpu", c.Resources.Requests},
					{"requests.memory", c.Resources.Requests},
					{"limits.memory", c.Resources.Limits},
				} {
					if r.m[strings.TrimPrefix(strings.TrimPrefix(r.name, "requests."), "limits.")] == "" {
						t.Errorf("resources.%s is not set", r.name)
					}
				}
			})
			t.Run("probes", func(t *testing.T) {
				port := portNamed(t, c, "http")
				for _, p := range []struct {
					name  string
					probe *probe
					path  string
				}{
					{"liveness", c.LivenessProbe, "/healthz"},
					{"readiness", c.ReadinessProbe, "/readyz"},
				} {
					if p.probe == nil || p.probe.HTTPGet == nil {
						t.Errorf("%s probe is not an httpGet", p.name)
						continue
					}
					if p.probe.HTTPGet.Path != p.path {
						t.Errorf("%s probe path = %q, want %q", p.name, p.probe.HTTPGet.Path, p.path)
					}
					if got := p.probe.HTTPGet.Port; got != "http" && got != strconv.Itoa(port) {
						t.Errorf("%s probe port = %q, want http (%d)", p.name, got, port)
					}
				}
			})
			t.Run("pdb", func(t *testing.T) {
				var p pdb
				ms.one(t, "PodDisruptionBudget", &p)
				if !selects(p.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels) || len(p.Spec.Selector.MatchLabels) == 0 {
					t.Errorf("PDB selector %v does not select the pods %v", p.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels)
				}
				switch {
				case p.Spec.MaxUnavailable != nil:
					if n, err := strconv.Atoi(*p.Spec.MaxUnavailable); err != nil || n < 1 || n >= *d.Spec.Replicas {
						t.Errorf("PDB maxUnavailable = %s, want 1 to %d", *p.Spec.MaxUnavailable, *d.Spec.Replicas-1)
					}
				case p.Spec.MinAvailable != nil:
					if n, err := strconv.Atoi(*p.Spec.MinAvailable); err != nil || n < 1 || n >= *d.Spec.Replicas {
						t.Errorf("PDB minAvailable = %s, want 1 to %d", *p.Spec.MinAvailable, *d.Spec.Replicas-1)
					}
				default:
					t.Error("PDB has neither maxUnavailable nor minAvailable")
				}
			})
			t.Run("metrics_service", func(t *testing.T) {
				var s service
				ms.one(t, "Service", &s)
				if !selects(s.Spec.Selector, d.Spec.Template.Metadata.Labels) || len(s.Spec.Selector) == 0 {
					t.Errorf("Service selector %v does not select the pods %v", s.Spec.Selector, d.Spec.Template.Metadata.Labels)
				}
				port := portNamed(t, c, "http")
				if len(s.Spec.Ports) != 1 || (s.Spec.Ports[0].TargetPort != "http" && s.Spec.Ports[0].TargetPort != strconv.Itoa(port)) {
					t.Errorf("Service ports = %+v, want one targeting http (%d)", s.Spec.Ports, port)
				}
			})
			t.Run("no_literal_secrets", func(t *testing.T) {
				for _, o := range ms.objects {
					if o.Kind == "Secret" || len(o.StringData) > 0 {
						t.Errorf("%s %s carries secret data; manifests only reference Secrets", o.Kind, o.Metadata.Name)
					}
					if o.Kind == "ConfigMap" {
						for k := range o.Data {
							if secretish.MatchString(k) {
								t.Errorf("ConfigMap %s has key %s, a secret", o.Metadata.Name, k)
							}
						}
					}
				}
				refs := 0
				for _, e := range c.Env {
					if !secretish.MatchString(e.Name) {
						continue
					}
					if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
						t.Errorf("env %s is not a secretKeyRef", e.Name)
						continue
					}
					refs++
				}
				for _, want := range []string{"SMARTCAR_CLIENT_ID", "SMARTCAR_CLIENT_SECRET", "REDIS_PASSWORD"} {
					if !slices.ContainsFunc(c.Env, func(e envVar) bool {
						return e.Name == want && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil
					}) {
						t.Errorf("env %s is not taken from a Secret", want)
					}
				}
				if refs == 0 {
					t.Error("no env var references a Secret")
				}
			})
			t.Run("config", func(t *testing.T) {
				checkConfig(t, ms, d, c)
			})
		})
	}
}

// checkConfig parses the daemon's configuration as the pod would see it
// (the ConfigMap's file, the container's environment) and checks the
// manifests agree with it.
func checkConfig(t *testing.T, ms manifests, d deployment, c container) {
	_, cfg := podConfig(t, ms, d, c)
	pod := d.Spec.Template.Spec

	if cfg.NATS.URL == "" {
		t.Error("nats.url is empty: an embedded NATS server per replica would split the queue")
	}
	if cfg.Redis.Mode() == config.RedisEmbedded {
		t.Error("neither redis.url nor redis.addrs is set: the embedded token store is single-node only")
	}
	// The daemon refuses Redis without a key; the key comes from the Secret.
	if k, err := cfg.TokenKey(); k != config.TokenKeyConfigured {
		t.Errorf("token pairs are not encrypted with a configured key (%v)", err)
	} else if b, err := os.ReadFile(cfg.Tokens.EncryptionKeyFile); err != nil || string(b) != fakeSecret("token-key") {
		t.Errorf("tokens.encryption_key_file is not the Secret's token-key (%v)", err)
	}
	if cfg.Smartcar.ClientSecret != "" || cfg.Smartcar.ClientID != "" {
		t.Error("the config file holds Smartcar credentials; they belong in the Secret")
	}
	if !strings.Contains(cfg.Redis.URL, ":"+fakeSecret("redis-password")+"@") && cfg.Redis.Password.Reveal() != fakeSecret("redis-password") {
		t.Errorf("the Redis password does not come from the Secret (redis %s)", cfg.Redis)
	}
	host, port, err := net.SplitHostPort(cfg.HTTP.Listen)
	if err != nil {
		t.Fatalf("http.listen %q: %v", cfg.HTTP.Listen, err)
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		t.Errorf("http.listen = %q: the kubelet's probes cannot reach it; listen on 0.0.0.0", cfg.HTTP.Listen)
	}
	if got := strconv.Itoa(portNamed(t, c, "http")); got != port {
		t.Errorf("container port http = %s, http.listen port = %s", got, port)
	}
	// SIGTERM lets a Smartcar call finish (smartcar.timeout) and then the
	// shutdown grace; the kubelet must not kill the pod before.
	need := cfg.Smartcar.Timeout + cfg.Workers.ShutdownGrace
	if pod.TerminationGracePeriodSeconds == nil {
		t.Fatal("terminationGracePeriodSeconds is not set")
	}
	if got := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second; got <= need {
		t.Errorf("terminationGracePeriodSeconds = %s, want above smartcar.timeout + workers.shutdown_grace = %s", got, need)
	}
	if cfg.Workers.AckWait <= cfg.Smartcar.Timeout {
		t.Errorf("workers.ack_wait %s <= smartcar.timeout %s: a slow call's job would be redelivered", cfg.Workers.AckWait, cfg.Smartcar.Timeout)
	}
	// Smartcar bills every batch item: a vehicle every schedule selects stays
	// within the plan.
	total := 0.0
	for _, p := range cfg.Projections() {
		total += p.RequestsPerVehiclePerMonth
	}
	if q := cfg.Smartcar.MonthlyQuota; q > 0 && total > float64(q) {
		t.Errorf("schedules project %.0f requests per vehicle per month, over smartcar.monthly_quota %d", total, q)
	}
	// Where the daemon writes must be a volume: the root filesystem is read-only.
	m, ok := mountOf(c, cfg.DataDir)
	if !ok || m.ReadOnly || volumeNamed(pod, m.Name).EmptyDir == nil {
		t.Errorf("data_dir %s is not on a writable emptyDir mount", cfg.DataDir)
	}
}

// podConfig finds the --config file in the container's ConfigMap mount and
// parses it with the container's environment, every Secret value replaced
// by fakeSecret(key).
func podConfig(t *testing.T, ms manifests, d deployment, c container) (string, *config.Config) {
	t.Helper()
	pod := d.Spec.Template.Spec
	i := slices.Index(c.Args, "--config")
	if i < 0 || i+1 >= len(c.Args) {
		t.Fatalf("args %q have no --config FILE", c.Args)
	}
	file := c.Args[i+1]
	m, ok := mountOf(c, path.Dir(file))
	if !ok || m.MountPath != path.Dir(file) {
		t.Fatalf("--config %s is not in a volume mount", file)
	}
	v := volumeNamed(pod, m.Name)
	if v.ConfigMap == nil {
		t.Fatalf("volume %s of --config %s is not a ConfigMap", m.Name, file)
	}
	data, ok := ms.named(t, "ConfigMap", v.ConfigMap.Name).Data[path.Base(file)]
	if !ok {
		t.Fatalf("ConfigMap %s has no key %s", v.ConfigMap.Name, path.Base(file))
	}

	data = projectSecrets(t, pod, c, data)

	env := map[string]string{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil {
			for k, val := range ms.named(t, "ConfigMap", ef.ConfigMapRef.Name).Data {
				env[k] = val
			}
		}
		if ef.SecretRef != nil {
			t.Errorf("envFrom Secret %s: name each secret variable instead", ef.SecretRef.Name)
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = fakeSecret(e.ValueFrom.SecretKeyRef.Key)
		case e.ValueFrom.ResourceFieldRef != nil:
			env[e.Name] = "536870912"
		case e.ValueFrom.ConfigMapKeyRef != nil:
			r := e.ValueFrom.ConfigMapKeyRef
			env[e.Name] = ms.named(t, "ConfigMap", r.Name).Data[r.Key]
		}
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	// SkipCredentials: the Smartcar credentials must come from the
	// environment, not the file; checkConfig asserts the file has none.
	delete(env, "SMARTCAR_CLIENT_ID")
	delete(env, "SMARTCAR_CLIENT_SECRET")
	cfg, err := config.Parse(file, []byte(data), lookup, config.SkipCredentials())
	if err != nil {
		t.Fatalf("the ConfigMap's %s does not load in the pod's environment:\n%v", file, err)
	}
	return file, cfg
}

// fakeSecret stands for the Secret's value of key.
func fakeSecret(key string) string { return "from-secret-" + key }

// projectSecrets stands in for the kubelet: each Secret volume's items
// become files (holding fakeSecret(key)) under a temporary directory, and
// the paths under the volume's mount in the configuration point there. A
// file the configuration names that the volume does not project stays
// missing, and config.Parse reports it.
func projectSecrets(t *testing.T, pod podSpec, c container, data string) string {
	t.Helper()
	for _, m := range c.VolumeMounts {
		v := volumeNamed(pod, m.Name)
		if v.Secret == nil {
			continue
		}
		dir := t.TempDir()
		for _, it := range v.Secret.Items {
			p := filepath.Join(dir, filepath.FromSlash(it.Path))
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(fakeSecret(it.Key)), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		data = strings.ReplaceAll(data, strings.TrimSuffix(m.MountPath, "/")+"/", dir+"/")
	}
	return data
}

// TestOverlayCluster checks the cluster overlay wires the daemon to a NATS
// cluster with replicated streams and keeps everything in its namespace.
func TestOverlayCluster(t *testing.T) {
	ms := render(t, "overlays/cluster")
	var d deployment
	ms.one(t, "Deployment", &d)
	_, cfg := podConfig(t, ms, d, d.Spec.Template.Spec.Containers[0])
	servers := strings.Split(cfg.NATS.URL, ",")
	if len(servers) < 3 {
		t.Errorf("nats.url = %q, want the 3 servers of the cluster", cfg.NATS.URL)
	}
	if cfg.NATS.Replicas != 3 {
		t.Errorf("nats.replicas = %d, want 3 on a cluster", cfg.NATS.Replicas)
	}
	if cfg.NATS.CredsFile == "" {
		t.Error("nats.creds_file is not set: the cluster overlay authenticates to NATS")
	}
	if m := cfg.Redis.Mode(); m != config.RedisSentinel && m != config.RedisCluster {
		t.Errorf("redis mode %s: want Sentinel or Cluster, which survive a Redis node", m)
	} else if len(cfg.Redis.Addrs) < 3 {
		t.Errorf("redis.addrs = %q, want at least 3", cfg.Redis.Addrs)
	}
	if !strings.HasPrefix(cfg.Redis.KeyPrefix, "{") || !strings.Contains(cfg.Redis.KeyPrefix, "}") {
		t.Errorf("redis.key_prefix %q has no hash tag: it would not work on Redis Cluster", cfg.Redis.KeyPrefix)
	}
	if !cfg.Tokens.Encrypted() {
		t.Error("tokens are not encrypted at rest")
	}
	for _, o := range ms.objects {
		if o.Metadata.Namespace != "smartcar" {
			t.Errorf("%s %s is in namespace %q, want smartcar", o.Kind, o.Metadata.Name, o.Metadata.Namespace)
		}
	}
	base := render(t, "base")
	var bd deployment
	base.one(t, "Deployment", &bd)
	if got, base := d.Spec.Template.Spec.Containers[0].Image, bd.Spec.Template.Spec.Containers[0].Image; got == base {
		t.Errorf("overlay image %s is the base's; the overlay pins a tag", got)
	}
}

func portNamed(t *testing.T, c container, name string) int {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container has no port named %s", name)
	return 0
}

// mountOf returns the mount that holds dir (the deepest one).
func mountOf(c container, dir string) (volumeMount, bool) {
	var best volumeMount
	for _, m := range c.VolumeMounts {
		if (dir == m.MountPath || strings.HasPrefix(dir, m.MountPath+"/")) && len(m.MountPath) > len(best.MountPath) {
			best = m
		}
	}
	return best, best.MountPath != ""
}

func volumeNamed(pod podSpec, name string) volume {
	for _, v := range pod.Volumes {
		if v.Name == name {
			return v
		}
	}
	return volume{}
}

// selects reports whether selector matches labels.
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func isTrue(b *bool) bool { return b != nil && *b }

func deref[T any](p *T) any {
	if p == nil {
		return "unset"
	}
	return *p
}

// TestManifests_noOpenTODOs fails while a manifest still says it waits for
// issue 6 (NATS credentials, TLS, Sentinel and Cluster addresses, token
// encryption in the configuration), which is done.
func TestManifests_noOpenTODOs(t *testing.T) {
	const todo = "TODO(issue 6)"
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, todo) {
				t.Errorf("%s:%d: %s", p, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
