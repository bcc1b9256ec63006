package config_test

import (
	"fmt"
	"os"

	"github.com/smartcar-poller/smartcar-poller/config"
)

func ExampleParse() {
	file := `smartcar:
  mode: simulated
workers:
  concurrency: 0
schedules:
  - name: default
    cron: "*/61 * * * *"
    paths: [/odometer, /speed]
    jitter: soon
`
	// SkipCredentials: the client id and secret are for commands that call Smartcar.
	_, err := config.Parse("poller.yaml", []byte(file), os.LookupEnv, config.SkipCredentials())
	fmt.Println(err)
	// Output:
	// poller.yaml:4: workers.concurrency: must be at least 1, got 0
	// poller.yaml:7: schedules[0].cron: invalid cron "*/61 * * * *": minute step 61 is above 59
	// poller.yaml:8: schedules[0].paths[1]: unknown path "/speed" (known: / /vin /odometer /location /battery /battery/capacity /battery/nominal_capacity /charge /charge/limit /fuel /tires/pressure /engine/oil /security /diagnostics/system_status /diagnostics/dtcs)
	// poller.yaml:9: schedules[0].jitter: invalid duration "soon" (want a Go duration such as 90s, 5m or 1h30m)
}

func ExampleFormatProjections() {
	file := `smartcar: {mode: simulated, monthly_quota: 500}
schedules:
  - {name: every_2h, cron: "0 */2 * * *", signals: [odometer, location, battery]}
  - {name: morning, cron: "0 7 * * *", signals: [charge, connectivity]}
`
	cfg, err := config.Parse("poller.yaml", []byte(file), nil, config.SkipCredentials())
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = config.FormatProjections(os.Stdout, cfg.Projections(), cfg.Smartcar.MonthlyQuota)
	// Output:
	// SCHEDULE       FIRINGS/30D  REQUESTS/VEHICLE/30D (API v3)  QUOTA       ON API v2
	// every_2h       360          360                            72% of 500  1080
	// morning        30           30                             6% of 500   -
	// all schedules  390          390                            78% of 500  -
	//
	// API v3 (smartcar.api) bills 390 requests per vehicle in 30 days for these schedules; API v2 cannot poll them: connectivity has no API v2 path.
}

func ExampleQuotaWarnings() {
	file := `smartcar: {api: v2, mode: simulated, monthly_quota: 500}
schedules:
  - {name: every_30m, cron: "*/30 * * * *", paths: [/odometer, /location, /battery]}
  - {name: every_6h, cron: "0 */6 * * *", signals: [odometer, location, battery]}
`
	env := map[string]string{"SMARTCAR_CLIENT_ID": "id", "SMARTCAR_CLIENT_SECRET": "secret"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := config.Parse("poller.yaml", []byte(file), lookup)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range config.QuotaWarnings(cfg.Projections(), cfg.Smartcar.MonthlyQuota) {
		fmt.Println("WARNING:", w)
	}
	// Output:
	// WARNING: schedule "every_30m" projects 4320 requests per vehicle in 30 days, 864% of smartcar.monthly_quota 500: poll less often or fewer paths
}
