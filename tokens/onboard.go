package tokens

import "time"

// The onboarding records: short-lived Connect states, the ids of delivered
// webhook events and each vehicle's last-webhook time. RedisStore and KVStore
// both implement them (see redis_onboard.go and kv_onboard.go):
//
//	PutConnectState(ctx, state, ttl) error        remember a Connect state for ttl
//	TakeConnectState(ctx, state) error            use it once: ErrNotFound if unknown, expired or used
//	MarkWebhookEvent(ctx, id, ttl) (bool, error)  true the first time id is marked within ttl
//	ForgetWebhookEvent(ctx, id) error             drop the mark (processing failed: accept a redelivery)
//	TouchWebhook(ctx, vehicleID, t) error         record a webhook at t (an older t is ignored)
//	LastWebhooks(ctx) (map[string]time.Time, error)
//
// RedisStore gives each state and mark a key with that ttl. The embedded
// store keeps them in the bucket KVMarksBucket names, whose MaxAge it raises
// to the longest ttl asked for, so a mark lasts as long as asked there too.

// MaxMarkTTL bounds the ttl of Connect states and webhook event marks: 30
// days, well above the 7 days Smartcar asks webhook receivers to remember
// event ids for.
const MaxMarkTTL = 30 * 24 * time.Hour

// markTTL clamps ttl to (0, MaxMarkTTL].
func markTTL(ttl time.Duration) time.Duration {
	if ttl <= 0 || ttl > MaxMarkTTL {
		return MaxMarkTTL
	}
	return ttl
}
