package events

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// PublishNewer publishes the events of a source that may deliver out of
// order (Smartcar's webhooks): each event goes out only if it is fresher
// than the vehicle's latest event of its signal, so an older delivery that
// arrives after a newer one can never replace the newer state. It returns
// the events it left out for that reason (stale) and an error naming the
// first event it could not publish (the events after it are not tried:
// retry them all, what went out before is not published twice).
//
// Fresher means a later data age (Time) or, when the ages are equal or one
// is unknown, a later fetch (FetchedAt); an equal state is stale. The
// latest-state entry is the arbiter: it is replaced by compare-and-set
// first, then the event is stored in the stream (Nats-Msg-Id = event id),
// so of two deliveries processed at once, on any replica, only the fresher
// one is published. An entry that already holds the event itself (a retry
// after a failure between the two steps) lets it through again. Each event
// takes three round trips, one after the other: use Publish for the poller's
// ordered batches.
func (p *Publisher) PublishNewer(ctx context.Context, evs ...Event) (stale []Event, err error) {
	items := make([]prepared, len(evs))
	for i, ev := range evs {
		it, err := p.prepare(ev)
		if err != nil {
			return nil, fmt.Errorf("publish event %d of %d: %w", i+1, len(evs), err)
		}
		items[i] = it
	}
	for _, it := range items {
		fresh, err := p.claim(ctx, it)
		if err != nil {
			p.failed.Add(1)
			return stale, fmt.Errorf("publish event %s: %w", it.ev.ID, err)
		}
		if !fresh {
			stale = append(stale, it.ev)
			continue
		}
		m := &nats.Msg{Subject: it.subject, Data: it.raw, Header: nats.Header{"Content-Type": {"application/cloudevents+json"}}}
		ack, err := p.js.PublishMsg(ctx, m, jetstream.WithMsgID(it.ev.ID), jetstream.WithExpectStream(p.stream))
		if err != nil {
			p.failed.Add(1)
			return stale, fmt.Errorf("publish event %s to %s: %w", it.ev.ID, it.subject, err)
		}
		if ack.Duplicate {
			p.duplicates.Add(1)
		} else {
			p.published.Add(1)
		}
	}
	return stale, nil
}

// claim puts it into the latest-state bucket if it is fresher than the
// entry there, with compare-and-set, and reports whether it is (or the
// entry is it already). A lost compare-and-set means another writer's
// succeeded, so the loop ends once it is either written or stale; ctx
// bounds it.
func (p *Publisher) claim(ctx context.Context, it prepared) (bool, error) {
	kv, err := p.store(ctx)
	if err != nil {
		return false, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("put latest %s: %w", it.key, err)
		}
		entry, err := kv.Get(ctx, it.key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			_, err = kv.Create(ctx, it.key, it.raw)
		case err != nil:
			return false, fmt.Errorf("get latest %s: %w", it.key, err)
		default:
			// An entry that does not parse holds no state to keep.
			if prev, perr := Parse(entry.Value()); perr == nil {
				if prev.ID == it.ev.ID {
					return true, nil
				}
				if !fresher(it.ev, prev) {
					return false, nil
				}
			}
			_, err = kv.Update(ctx, it.key, it.raw, entry.Revision())
		}
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return false, fmt.Errorf("put latest %s: %w", it.key, err)
		}
	}
}

// fresher reports whether a reports a later state than b: a later data
// age; when the ages are equal or either is unknown, a later fetch.
func fresher(a, b Event) bool {
	if !a.Time.IsZero() && !b.Time.IsZero() && !a.Time.Equal(b.Time) {
		return a.Time.After(b.Time)
	}
	return a.FetchedAt.After(b.FetchedAt)
}
