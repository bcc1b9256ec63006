package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/config"
)

// okSchedules is a valid schedules block for cases about something else.
const okSchedules = "schedules: [{name: s, cron: '@hourly', paths: [/odometer]}]\n"

// badInputs are configurations with the exact problems Parse must report.
// FuzzParse uses them as seeds.
var badInputs = []struct {
	name string
	yaml string
	want []string
}{
	// Malformed YAML: the line of the token where go-yaml's parser stopped,
	// and its message (with control characters escaped).
	{"yaml bad indentation", "nats:\n  url: ''\n bad: 1\n" + okSchedules,
		[]string{"poller.yaml:3: invalid YAML: value is not allowed in this context"}},
	{"yaml indentation in a list", "schedules:\n  - name: a\n    cron: '@hourly'\n    paths: [/vin]\n   jitter: 1m\n",
		[]string{"poller.yaml:5: invalid YAML: value is not allowed in this context"}},
	{"yaml unclosed flow list", "data_dir: x\nschedules: [{name: s, cron: '@hourly', paths: [/vin]}\nlog: {}\n",
		[]string{"poller.yaml:3: invalid YAML: ',' or ']' must be specified"}},
	{"yaml unclosed flow list at the end", "data_dir: x\nschedules: [{name: s, cron: '@hourly', paths: [/vin]}\n",
		[]string{"poller.yaml:2: invalid YAML: sequence end token ']' not found"}},
	{"yaml unterminated quote", "data_dir: 'x\nschedules: []\n",
		[]string{"poller.yaml:1: invalid YAML: could not find end character of single-quoted text"}},
	{"yaml tab indentation", "workers:\n\tconcurrency: 3\n",
		[]string{`poller.yaml:2: invalid YAML: found character '\t' that cannot start any token`}},
	{"yaml control character", "data_dir: ok\nlog: {level: \"a\x01\"}\n",
		[]string{"poller.yaml:2: invalid YAML: control characters are not allowed"}},
	{"yaml invalid utf-8", "data_dir: ok\n\ndata_dir: \xff\n",
		[]string{"poller.yaml:3: invalid YAML: invalid leading UTF-8 octet"}},
	{"yaml unknown anchor", okSchedules + "workers: *base\n",
		[]string{"poller.yaml:2: invalid YAML: unknown anchor 'base' referenced"}},
	{"yaml two documents", okSchedules + "---\ndata_dir: x\n",
		[]string{"poller.yaml:2: more than one YAML document"}},
	{"top level list", "- nats\n- redis\n",
		[]string{"poller.yaml:1: want a mapping, got a list"}},

	// Unknown and repeated keys.
	{"unknown top-level key", "nats: {}\ncolour: red\n" + okSchedules,
		[]string{`poller.yaml:2: colour: unknown key "colour" (known: connect, data_dir, http, log, nats, redis, schedules, smartcar, tokens, webhooks, workers)`}},
	{"misspelt nested key", "workers:\n  concurency: 8\n" + okSchedules,
		[]string{`poller.yaml:2: workers.concurency: unknown key "concurency" (did you mean "concurrency"?)`}},
	// Onboarding and webhooks.
	{"connect without redirect uri", "connect: {enabled: true}\n" + okSchedules,
		[]string{"poller.yaml:1: smartcar.redirect_uri: missing: connect.enabled needs it (set it or SMARTCAR_REDIRECT_URI)"}},
	{"connect bad scopes and ttl", "connect:\n  scopes: [read_odometer, Read-All, read_odometer]\n  state_ttl: 2h\n" + okSchedules,
		[]string{
			`poller.yaml:2: connect.scopes[1]: invalid scope "Read-All" (want lowercase letters, _ or :)`,
			`poller.yaml:2: connect.scopes[2]: duplicate scope "read_odometer"`,
			"poller.yaml:3: connect.state_ttl: must be at most 1h, got 2h0m0s",
		}},
	{"connect empty scopes", "connect: {scopes: []}\n" + okSchedules,
		[]string{"poller.yaml:1: connect.scopes: at least one scope is required"}},
	{"webhooks without token", "webhooks:\n  enabled: true\n  dedup_ttl: 0s\n" + okSchedules,
		[]string{
			"poller.yaml:1: webhooks.management_token: missing: webhooks.enabled needs it (set it or SMARTCAR_MANAGEMENT_TOKEN)",
			"poller.yaml:3: webhooks.dedup_ttl: must be positive, got 0s",
		}},
	{"dedup ttl above 30 days", "webhooks: {dedup_ttl: 721h}\n" + okSchedules,
		[]string{"poller.yaml:1: webhooks.dedup_ttl: must be at most 720h (30 days), got 721h0m0s"}},
	{"webhook processing and inbox out of bounds", "webhooks:\n  concurrency: 0\n  inbox: {max_age: 30m, max_messages: 0}\n" + okSchedules,
		[]string{
			"poller.yaml:2: webhooks.concurrency: must be 1 to 256, got 0",
			"poller.yaml:3: webhooks.inbox.max_age: must be at least 1h, got 30m0s",
			"poller.yaml:3: webhooks.inbox.max_messages: must be at least 1, got 0",
		}},
	{"webhooks enabled not a boolean", "webhooks: {enabled: maybe}\n" + okSchedules,
		[]string{`poller.yaml:1: webhooks.enabled: want true or false, got "maybe"`}},
	{"negative webhooks_silent_for", "schedules:\n  - name: s\n    cron: '@hourly'\n    paths: [/vin]\n    when: {webhooks_silent_for: -1h}\n",
		[]string{"poller.yaml:5: schedules[0].when.webhooks_silent_for: negative duration -1h0m0s"}},
	{"unknown key in a schedule", "schedules:\n  - name: s\n    cron: '@hourly'\n    paths: [/vin]\n    retries: 3\n",
		[]string{`poller.yaml:5: schedules[0].retries: unknown key "retries" (known: adaptive, cron, emit, jitter, name, paths, signals, vehicles, when)`}},
	{"unknown key in vehicles", "schedules:\n  - {name: s, cron: '@hourly', paths: [/vin],\n     vehicles: {tag: [a]}}\n",
		[]string{
			`poller.yaml:3: schedules[0].vehicles.tag: unknown key "tag" (did you mean "tags"?)`,
			`poller.yaml:3: schedules[0].vehicles.tags: empty list (want at least one tag)`,
		}},
	{"x- key below the top level", "workers: {x-note: 1}\n" + okSchedules,
		[]string{`poller.yaml:1: workers.x-note: unknown key "x-note" (known: ack_wait, concurrency, max_attempts, shutdown_grace)`}},
	{"merge of a scalar", "schedules:\n  - <<: 5\n    name: a\n    cron: '@hourly'\n    paths: [/vin]\n",
		[]string{`poller.yaml:2: schedules[0]: << merges a mapping or a list of mappings, got "5"`}},
	{"merge list with a scalar", "workers:\n  <<: [{concurrency: 2}, 7]\n" + okSchedules,
		[]string{`poller.yaml:2: workers: << merges a mapping or a list of mappings, got "7"`}},
	{"alias inside its own anchor", okSchedules + "workers: &w {<<: *w}\n",
		[]string{"poller.yaml:2: workers: nested too deeply (an alias inside its own anchor?)"}},
	{"list as a key", okSchedules + "? [a]\n: 1\n",
		[]string{"poller.yaml:3: invalid YAML: found an invalid key for this map"}},
	{"alias of a list as a key", okSchedules + "x-k: &k [a]\n*k : 1\n",
		[]string{"poller.yaml:3: a key must be a string, got a list"}},
	{"repeated key", "data_dir: a\nlog: {level: info}\ndata_dir: b\n" + okSchedules,
		[]string{"poller.yaml:3: data_dir: duplicate key (first at line 1)"}},

	// Wrong types.
	{"scalar for a mapping", "nats: 5\n" + okSchedules,
		[]string{`poller.yaml:1: nats: want a mapping, got "5"`}},
	{"string for an integer", okSchedules + "workers: {concurrency: lots}\n",
		[]string{`poller.yaml:2: workers.concurrency: want an integer, got "lots"`}},
	{"float for an integer", okSchedules + "smartcar: {rate_limit: {burst: 1.5}}\n",
		[]string{`poller.yaml:2: smartcar.rate_limit.burst: want an integer, got "1.5"`}},
	{"list for a number", okSchedules + "smartcar:\n  rate_limit:\n    requests_per_minute: [2]\n",
		[]string{`poller.yaml:4: smartcar.rate_limit.requests_per_minute: want a number, got a list`}},
	{"mapping for a string", okSchedules + "data_dir: {path: x}\n",
		[]string{`poller.yaml:2: data_dir: want a string, got a mapping`}},
	{"mapping for the schedules list", "schedules:\n  name: s\n",
		[]string{`poller.yaml:1: schedules: want a list, got a mapping`}},
	{"scalar for paths", "schedules: [{name: s, cron: '@hourly', paths: /odometer}]\n",
		[]string{`poller.yaml:1: schedules[0].paths: want a list, got "/odometer"`}},

	// Durations.
	{"duration without unit", okSchedules + "workers: {shutdown_grace: 10}\n",
		[]string{`poller.yaml:2: workers.shutdown_grace: invalid duration "10" (want a Go duration such as 90s, 5m or 1h30m)`}},
	{"duration in words", okSchedules + "smartcar:\n  timeout: 5 minutes\n",
		[]string{`poller.yaml:3: smartcar.timeout: invalid duration "5 minutes" (want a Go duration such as 90s, 5m or 1h30m)`}},
	{"negative durations", "nats: {events_max_age: -1h}\nworkers: {ack_wait: -5m}\n" +
		"schedules: [{name: s, cron: '@hourly', paths: [/vin], jitter: -1s}]\n",
		[]string{
			"poller.yaml:1: nats.events_max_age: negative duration -1h0m0s",
			"poller.yaml:2: workers.ack_wait: negative duration -5m0s",
			"poller.yaml:3: schedules[0].jitter: negative duration -1s",
		}},
	{"zero timeout", okSchedules + "smartcar: {timeout: 0s}\n",
		[]string{"poller.yaml:2: smartcar.timeout: must be positive, got 0s"}},

	// Cron.
	{"cron step too large", "schedules:\n  - name: default\n    cron: \"*/61 * * * *\"\n    paths: [/vin]\n",
		[]string{`poller.yaml:3: schedules[0].cron: invalid cron "*/61 * * * *": minute step 61 is above 59`}},
	{"cron four fields", "schedules: [{name: s, cron: '* * * *', paths: [/vin]}]\n",
		[]string{`poller.yaml:1: schedules[0].cron: invalid cron "* * * *": expected exactly 5 fields, found 4: [* * * *]`}},
	{"cron out of range", "schedules: [{name: s, cron: '0 24 * * *', paths: [/vin]}]\n",
		[]string{`poller.yaml:1: schedules[0].cron: invalid cron "0 24 * * *": end of range (24) above maximum (23): 24`}},
	{"cron every below a second", "schedules: [{name: s, cron: '@every 500ms', paths: [/vin]}]\n",
		[]string{`poller.yaml:1: schedules[0].cron: invalid cron "@every 500ms": @every needs at least 1s, got 500ms`}},
	{"cron never fires", "schedules: [{name: s, cron: '0 0 31 2 *', paths: [/vin]}]\n",
		[]string{`poller.yaml:1: schedules[0].cron: invalid cron "0 0 31 2 *": never fires`}},
	{"cron time zone alone", "schedules: [{name: s, cron: 'CRON_TZ=UTC', paths: [/vin]}]\n",
		[]string{`poller.yaml:1: schedules[0].cron: invalid cron "CRON_TZ=UTC": time zone without a schedule`}},
	{"cron unknown descriptor", "schedules: [{name: s, cron: '@fortnightly', paths: [/vin]}]\n",
		[]string{`poller.yaml:1: schedules[0].cron: invalid cron "@fortnightly": unrecognized descriptor: @fortnightly`}},
	{"cron missing", "schedules: [{name: s, paths: [/vin]}]\n",
		[]string{`poller.yaml:1: schedules[0].cron: missing (want cron or adaptive)`}},

	// Schedules.
	{"no schedules key", "data_dir: ./data\n",
		[]string{"poller.yaml:1: schedules: at least one schedule is required"}},
	{"empty schedules list", "data_dir: ./data\nschedules: []\n",
		[]string{"poller.yaml:2: schedules: at least one schedule is required"}},
	{"null schedules", "data_dir: ./data\nschedules:\n",
		[]string{"poller.yaml:2: schedules: at least one schedule is required"}},
	{"duplicate schedule names", "schedules:\n  - {name: fast, cron: '@hourly', paths: [/vin]}\n  - {name: fast, cron: '@daily', paths: [/fuel]}\n",
		[]string{`poller.yaml:3: schedules[1].name: duplicate schedule name "fast" (schedules[0] has it too)`}},
	{"schedule without name", "schedules:\n  - cron: '@hourly'\n    paths: [/vin]\n",
		[]string{`poller.yaml:2: schedules[0].name: missing`}},
	{"bad schedule name", "schedules: [{name: 'my schedule', cron: '@hourly', paths: [/vin]}]\n",
		[]string{`poller.yaml:1: schedules[0].name: invalid name "my schedule" (want up to 64 letters, digits, _ or -)`}},
	{"unknown and duplicate paths", "schedules:\n  - name: s\n    cron: '@hourly'\n    paths:\n      - /odometer\n      - /speed\n      - /odometer\n",
		[]string{
			`poller.yaml:6: schedules[0].paths[1]: unknown path "/speed" (known: / /vin /odometer /location /battery /battery/capacity /battery/nominal_capacity /charge /charge/limit /fuel /tires/pressure /engine/oil /security /diagnostics/system_status /diagnostics/dtcs)`,
			`poller.yaml:7: schedules[0].paths[2]: duplicate path "/odometer"`,
		}},
	{"empty paths", "schedules:\n  - name: s\n    cron: '@hourly'\n    paths: []\n",
		[]string{`poller.yaml:4: schedules[0].paths: at least one path is required`}},
	{"empty signals", "schedules:\n  - name: s\n    cron: '@hourly'\n    signals: []\n",
		[]string{`poller.yaml:4: schedules[0].signals: at least one signal is required`}},
	{"no signals or paths", "schedules:\n  - name: s\n    cron: '@hourly'\n",
		[]string{`poller.yaml:2: schedules[0].signals: missing (want signals, e.g. [odometer, location], or API v2 paths)`}},
	{"signals and paths", "schedules:\n  - {name: s, cron: '@hourly', signals: [odometer], paths: [/odometer]}\n",
		[]string{`poller.yaml:2: schedules[0].signals: set signals or paths, not both`}},
	{"bad signals on v3", "schedules:\n  - name: s\n    cron: '@hourly'\n    signals: [odometer, speed, odometer, diagnostics, Transmission-Gear]\n" +
		"  - {name: t, cron: '@hourly', signals: [all, odometer]}\n  - {name: u, cron: '@hourly', paths: [/odometer, /diagnostics/dtcs]}\n",
		[]string{
			`poller.yaml:4: schedules[0].signals[1]: unknown signal "speed" (known: info vin odometer location battery battery_capacity charge charge_limit fuel tire_pressure engine_oil lock_status diagnostics connectivity doors windows, all, or an API v3 code such as transmission-gearstate)`,
			`poller.yaml:4: schedules[0].signals[2]: duplicate signal "odometer"`,
			`poller.yaml:4: schedules[0].signals[3]: diagnostics has no API v3 signal: leave it out, or set smartcar.api: v2`,
			`poller.yaml:4: schedules[0].signals[4]: unknown signal "Transmission-Gear" (known: info vin odometer location battery battery_capacity charge charge_limit fuel tire_pressure engine_oil lock_status diagnostics connectivity doors windows, all, or an API v3 code such as transmission-gearstate)`,
			`poller.yaml:5: schedules[1].signals[0]: "all" asks for every signal: list nothing else`,
			`poller.yaml:6: schedules[2].paths[1]: /diagnostics/dtcs has no API v3 signal (diagnostics): leave it out, or set smartcar.api: v2`,
		}},
	{"bad signals on v2", "smartcar: {api: v2}\nschedules:\n  - name: s\n    cron: '@hourly'\n    signals: [odometer, connectivity, transmission-gearstate, diagnostics]\n" +
		"  - {name: t, cron: '@hourly', signals: [all]}\n",
		[]string{
			`poller.yaml:5: schedules[0].signals[1]: connectivity has no API v2 path: set smartcar.api: v3`,
			`poller.yaml:5: schedules[0].signals[2]: transmission-gearstate is an API v3 signal code: set smartcar.api: v3, or ask for a signal with an API v2 path`,
			`poller.yaml:6: schedules[1].signals[0]: "all" needs smartcar.api: v3 (API v2 bills every path: list the signals)`,
		}},
	{"unknown api", "smartcar: {api: v4}\nschedules: [{name: s, cron: '@hourly', signals: [odometer]}]\n",
		[]string{`poller.yaml:1: smartcar.api: invalid value "v4" (want "v3" or "v2")`}},
	{"bad emit", "schedules:\n  - name: s\n    cron: '@hourly'\n    paths: [/vin]\n    emit: sometimes\n",
		[]string{`poller.yaml:5: schedules[0].emit: invalid value "sometimes" (want "always" or "on_change")`}},
	{"jitter longer than the interval", "schedules:\n  - name: s\n    cron: '*/10 * * * *'\n    paths: [/vin]\n    jitter: 15m\n",
		[]string{`poller.yaml:5: schedules[0].jitter: 15m0s is longer than the shortest interval between firings (10m0s)`}},
	{"vehicles unknown word", "schedules: [{name: s, cron: '@hourly', paths: [/vin], vehicles: every}]\n",
		[]string{`poller.yaml:1: schedules[0].vehicles: want "all", a list of vehicle ids or {tags: [...]}, got "every"`}},
	{"vehicles empty list and bad ids", "schedules:\n  - {name: a, cron: '@hourly', paths: [/vin], vehicles: []}\n" +
		"  - name: b\n    cron: '@hourly'\n    paths: [/vin]\n    vehicles:\n      - v-1\n      - 'v.2'\n      - v-1\n",
		[]string{
			`poller.yaml:2: schedules[0].vehicles: empty list (want at least one vehicle id)`,
			`poller.yaml:8: schedules[1].vehicles[1]: invalid vehicle id "v.2"`,
			`poller.yaml:9: schedules[1].vehicles[2]: duplicate vehicle id "v-1"`,
		}},

	// Smartcar, workers, logs.
	{"bad unit system", okSchedules + "smartcar:\n  unit_system: si\n",
		[]string{`poller.yaml:3: smartcar.unit_system: invalid value "si" (want "metric" or "imperial")`}},
	{"bad mode", okSchedules + "smartcar: {mode: production}\n",
		[]string{`poller.yaml:2: smartcar.mode: invalid value "production" (want "live", "test" or "simulated")`}},
	{"bad rate limit", okSchedules + "smartcar:\n  rate_limit: {requests_per_minute: 0, burst: -1}\n  monthly_quota: -5\n",
		[]string{
			"poller.yaml:3: smartcar.rate_limit.requests_per_minute: must be positive, got 0",
			"poller.yaml:3: smartcar.rate_limit.burst: must be at least 1, got -1",
			"poller.yaml:4: smartcar.monthly_quota: must not be negative, got -5 (0 means unknown)",
		}},
	{"concurrency zero", okSchedules + "workers:\n  concurrency: 0\n",
		[]string{"poller.yaml:3: workers.concurrency: must be at least 1, got 0"}},
	{"concurrency negative and no attempts", okSchedules + "workers: {concurrency: -3, max_attempts: 0}\n",
		[]string{
			"poller.yaml:2: workers.concurrency: must be at least 1, got -3",
			"poller.yaml:2: workers.max_attempts: must be at least 1, got 0",
		}},
	{"long value shortened", okSchedules + "log: {level: " + strings.Repeat("é", 30) + "}\n",
		[]string{`poller.yaml:2: log.level: invalid value "` + strings.Repeat("é", 20) + `…" (want "debug", "info", "warn" or "error")`}},
	{"bad log settings", okSchedules + "log: {level: loud, format: xml}\n",
		[]string{
			`poller.yaml:2: log.level: invalid value "loud" (want "debug", "info", "warn" or "error")`,
			`poller.yaml:2: log.format: invalid value "xml" (want "auto", "text" or "json")`,
		}},
	{"empty data dir", okSchedules + "data_dir: ''\n",
		[]string{"poller.yaml:2: data_dir: must not be empty"}},

	// URLs, addresses, names.
	{"nats http scheme", okSchedules + "nats: {url: 'http://nats:4222'}\n",
		[]string{`poller.yaml:2: nats.url: invalid URL: scheme "http" (want "nats", "tls", "ws" or "wss")`}},
	{"nats list with a bad item", okSchedules + "nats:\n  url: nats://a:4222,nats://:4222\n",
		[]string{`poller.yaml:3: nats.url: invalid URL (item 2): no host`}},
	{"redis bad port, password not shown", okSchedules + "redis:\n  url: redis://:hunter2@redis:99999\n",
		[]string{`poller.yaml:3: redis.url: invalid URL: bad port`}},
	{"redis bad database", okSchedules + "redis: {url: 'redis://redis:6379/zero'}\n",
		[]string{`poller.yaml:2: redis.url: invalid URL: path must be a database number (/0)`}},
	{"redis scheme", okSchedules + "redis: {url: 'memcached://m:11211'}\n",
		[]string{`poller.yaml:2: redis.url: invalid URL: scheme "memcached" (want "redis", "rediss" or "unix")`}},
	{"relative redirect uri", okSchedules + "smartcar: {redirect_uri: /callback}\n",
		[]string{`poller.yaml:2: smartcar.redirect_uri: invalid URL (want an absolute http or https URL)`}},
	{"bad listen address", okSchedules + "http: {listen: '8080'}\n",
		[]string{`poller.yaml:2: http.listen: invalid address "8080" (want host:port, or "" to disable)`}},
	{"invalid subject prefix", okSchedules + "nats:\n  subject_prefix: smart.car\n",
		[]string{`poller.yaml:3: nats.subject_prefix: invalid subject prefix "smart.car" (want 1 to 128 letters, digits, _ or -)`}},
	{"subject prefix too long", okSchedules + "nats:\n  subject_prefix: " + strings.Repeat("p", 129) + "\n",
		[]string{`poller.yaml:3: nats.subject_prefix: invalid subject prefix "` + strings.Repeat("p", 40) + `…" (want 1 to 128 letters, digits, _ or -)`}},
	{"replicas out of range", okSchedules + "nats: {replicas: 7}\n",
		[]string{"poller.yaml:2: nats.replicas: must be 1 to 5, got 7"}},

	// Clusters: nats.url as a list, Redis Sentinel and Cluster.
	{"nats url empty list", okSchedules + "nats:\n  url: []\n",
		[]string{"poller.yaml:3: nats.url: empty list (leave the key out for the default)"}},
	{"nats url list with a bad item", okSchedules + "nats:\n  url:\n    - nats://a:4222\n    - nats://:4222\n",
		[]string{"poller.yaml:5: nats.url[1]: invalid URL: no host"}},
	{"nats url list item with commas", okSchedules + "nats:\n  url:\n    - nats://a:4222,nats://b:4222\n",
		[]string{`poller.yaml:4: nats.url[0]: one item per list entry (no ",")`}},
	{"nats url list item not a string", okSchedules + "nats:\n  url: [{host: a}]\n",
		[]string{"poller.yaml:3: nats.url[0]: want a string, got a mapping"}},
	{"redis url and addrs", okSchedules + "redis:\n  url: redis://r:6379\n  addrs: [r:6379]\n",
		[]string{"poller.yaml:4: redis.addrs: set redis.url or redis.addrs, not both"}},
	{"redis bad addresses", okSchedules + "redis:\n  addrs:\n    - r1:6379\n    - r2\n    - ':6379'\n    - r4:99999\n  key_prefix: '{sc}:'\n",
		[]string{
			`poller.yaml:5: redis.addrs[1]: invalid address "r2" (want host:port)`,
			`poller.yaml:6: redis.addrs[2]: invalid address ":6379" (want host:port)`,
			`poller.yaml:7: redis.addrs[3]: invalid address "r4:99999" (want host:port)`,
		}},
	{"redis master name without addrs", okSchedules + "redis:\n  url: redis://r:6379\n  master_name: mymaster\n",
		[]string{"poller.yaml:4: redis.master_name: needs redis.addrs (the Sentinels' host:port)"}},
	{"redis cluster without addrs", okSchedules + "redis: {cluster: true}\n",
		[]string{"poller.yaml:2: redis.cluster: needs redis.addrs (the cluster's host:port)"}},
	{"redis sentinel and cluster", okSchedules + "redis:\n  addrs: [s1:26379]\n  master_name: m\n  cluster: true\n",
		[]string{"poller.yaml:5: redis.cluster: set redis.master_name (Sentinel) or redis.cluster, not both"}},
	{"redis db with a url", okSchedules + "redis:\n  url: redis://r:6379/1\n  db: 2\n",
		[]string{"poller.yaml:4: redis.db: applies to redis.addrs; give the database in redis.url (/N)"}},
	{"redis negative db", okSchedules + "redis:\n  addrs: [r:6379]\n  db: -1\n",
		[]string{"poller.yaml:4: redis.db: must not be negative, got -1"}},
	{"redis cluster without hash tag, with a db", okSchedules + "redis:\n  addrs: [c1:6379, c2:6379]\n  key_prefix: 'smartcar:'\n  db: 3\n",
		[]string{
			`poller.yaml:4: redis.key_prefix: Redis Cluster needs a hash tag in the prefix, such as "{smartcar}:", so that each script's keys share a slot`,
			"poller.yaml:5: redis.db: Redis Cluster has only database 0, got 3",
		}},
	{"redis cluster with an empty hash tag", okSchedules + "redis:\n  addrs: [c1:6379]\n  cluster: true\n  key_prefix: '{}smartcar:'\n",
		[]string{`poller.yaml:5: redis.key_prefix: Redis Cluster needs a hash tag in the prefix, such as "{smartcar}:", so that each script's keys share a slot`}},
	{"redis sentinel password without sentinel", okSchedules + "redis:\n  addrs: [r:6379]\n  sentinel_password: pw\n",
		[]string{"poller.yaml:4: redis.sentinel_password: applies to Sentinel only (set redis.master_name and redis.addrs)"}},
	{"redis sentinel username without password", okSchedules + "redis:\n  addrs: [s1:26379]\n  master_name: m\n  sentinel_username: u\n",
		[]string{"poller.yaml:5: redis.sentinel_username: needs redis.sentinel_password"}},

	// Environment expansion.
	{"unset variable", okSchedules + "nats:\n  url: ${NATS_URL}\n",
		[]string{"poller.yaml:3: nats.url: environment variable NATS_URL is not set (use ${NATS_URL:-default} for a default)"}},
	{"bad variable name", okSchedules + "data_dir: ${1DIR}\n",
		[]string{`poller.yaml:2: data_dir: invalid environment variable name "1DIR" in ${1DIR}`}},
	{"unterminated variable", okSchedules + "data_dir: /srv/${DIR\n",
		[]string{`poller.yaml:2: data_dir: unterminated ${ (missing })`}},
	{"expanded value of the wrong type", okSchedules + "workers: {concurrency: '${WORDS}'}\n",
		[]string{`poller.yaml:2: workers.concurrency: want an integer, got "many"`}},

	// Many problems at once, in line order.
	{"all problems together", "nats: {replicas: 0}\n" +
		"workers:\n  concurrency: 0\n  ack_wait: soon\n" +
		"schedules:\n  - {name: a, cron: '*/61 * * * *', paths: [/nope]}\n  - {name: a, cron: '@daily', paths: [/vin], emit: never}\n",
		[]string{
			"poller.yaml:1: nats.replicas: must be 1 to 5, got 0",
			"poller.yaml:3: workers.concurrency: must be at least 1, got 0",
			`poller.yaml:4: workers.ack_wait: invalid duration "soon" (want a Go duration such as 90s, 5m or 1h30m)`,
			`poller.yaml:6: schedules[0].cron: invalid cron "*/61 * * * *": minute step 61 is above 59`,
			`poller.yaml:6: schedules[0].paths[0]: unknown path "/nope" (known: / /vin /odometer /location /battery /battery/capacity /battery/nominal_capacity /charge /charge/limit /fuel /tires/pressure /engine/oil /security /diagnostics/system_status /diagnostics/dtcs)`,
			`poller.yaml:7: schedules[1].emit: invalid value "never" (want "always" or "on_change")`,
			`poller.yaml:7: schedules[1].name: duplicate schedule name "a" (schedules[0] has it too)`,
		}},
}

func TestParse_badInput(t *testing.T) {
	for _, tc := range badInputs {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("poller.yaml", []byte(tc.yaml), credsEnv("WORDS", "many"))
			if err == nil {
				t.Fatalf("Parse accepted the config:\n%s", cfg)
			}
			if cfg != nil {
				t.Errorf("Parse returned a config with its error")
			}
			if diff := cmp.Diff(tc.want, problems(t, err, "poller.yaml")); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if got, want := err.Error(), strings.Join(tc.want, "\n"); got != want {
				t.Errorf("Error() = %q, want %q", got, want)
			}
		})
	}
}

func TestParse_credentials(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  func(string) (string, bool)
		opts []config.Option
		want []string // nil: accepted
	}{
		{
			name: "missing, at the smartcar block",
			yaml: okSchedules + "data_dir: x\nsmartcar:\n  unit_system: metric\n",
			env:  env(),
			want: []string{
				"poller.yaml:3: smartcar.client_id: missing (set it or SMARTCAR_CLIENT_ID)",
				"poller.yaml:3: smartcar.client_secret: missing (set it or SMARTCAR_CLIENT_SECRET)",
			},
		},
		{
			name: "missing, no smartcar block",
			yaml: "data_dir: x\n" + okSchedules,
			env:  env("SMARTCAR_CLIENT_ID", "id"),
			want: []string{"poller.yaml:1: smartcar.client_secret: missing (set it or SMARTCAR_CLIENT_SECRET)"},
		},
		{
			name: "empty in the file, at its key",
			yaml: okSchedules + "smartcar:\n  mode: test\n  client_id: ''\n  client_secret: ${SECRET:-}\n",
			env:  env("SMARTCAR_CLIENT_SECRET", ""),
			want: []string{
				"poller.yaml:4: smartcar.client_id: missing (set it or SMARTCAR_CLIENT_ID)",
				"poller.yaml:5: smartcar.client_secret: missing (set it or SMARTCAR_CLIENT_SECRET)",
			},
		},
		{name: "from the environment", yaml: okSchedules, env: credsEnv()},
		{name: "in the file", yaml: okSchedules + "smartcar: {client_id: a, client_secret: b}\n", env: env()},
		{
			// Every mode refreshes tokens: run would refuse it, so validate does.
			name: "needed when simulated too",
			yaml: okSchedules + "smartcar: {mode: simulated}\n",
			env:  env(),
			want: []string{
				"poller.yaml:2: smartcar.client_id: missing (set it or SMARTCAR_CLIENT_ID)",
				"poller.yaml:2: smartcar.client_secret: missing (set it or SMARTCAR_CLIENT_SECRET)",
			},
		},
		{name: "skipped", yaml: okSchedules, env: env(), opts: []config.Option{config.SkipCredentials()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("poller.yaml", []byte(tc.yaml), tc.env, tc.opts...)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Parse accepted missing credentials")
			}
			if diff := cmp.Diff(tc.want, problems(t, err, "poller.yaml")); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrors_As(t *testing.T) {
	_, err := config.Parse("p.yaml", []byte("workers: {concurrency: 0}\n"+okSchedules), credsEnv())
	var e *config.Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(%v, *config.Error) = false", err)
	}
	want := &config.Error{File: "p.yaml", Line: 1, Key: "workers.concurrency", Problem: "must be at least 1, got 0"}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("first problem (-want +got):\n%s", diff)
	}
}

func TestError_Error(t *testing.T) {
	tests := []struct {
		err  config.Error
		want string
	}{
		{config.Error{File: "a.yaml", Line: 3, Key: "nats.url", Problem: "bad"}, "a.yaml:3: nats.url: bad"},
		{config.Error{File: "a.yaml", Line: 1, Problem: "invalid YAML: x"}, "a.yaml:1: invalid YAML: x"},
		{config.Error{Key: "workers.concurrency", Problem: "must be at least 1, got 0"}, "workers.concurrency: must be at least 1, got 0"},
		{config.Error{File: "a.yaml", Key: "k", Problem: "p"}, "a.yaml: k: p"},
		{config.Error{Line: 7, Key: "k", Problem: "p"}, "line 7: k: p"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}
