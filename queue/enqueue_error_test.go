package queue_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/queue"
)

// storedIDs returns the Nats-Msg-Id of every message in the queue's stream.
func storedIDs(t *testing.T, js jetstream.JetStream, q *queue.Queue) []string {
	t.Helper()
	s, err := js.Stream(t.Context(), q.Stream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(t.Context(), seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.Header.Get(jetstream.MsgIDHeader))
	}
	return ids
}

func TestQueue_Enqueue_failedJobs(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		t.Run("stream full: the refused jobs, and only they", func(t *testing.T) {
			q, js, _ := newQueue(t, url, queue.Config{})
			s, err := js.Stream(t.Context(), q.Stream())
			if err != nil {
				t.Fatal(err)
			}
			sc := s.CachedInfo().Config
			sc.MaxMsgs, sc.Discard = 3, jetstream.DiscardNew
			if _, err := js.UpdateStream(t.Context(), sc); err != nil {
				t.Fatal(err)
			}
			all := jobs("full", 5, tick)
			res, err := q.Enqueue(t.Context(), all...)
			var qe *queue.EnqueueError
			if !errors.As(err, &qe) {
				t.Fatalf("Enqueue = %+v, %v; want an *EnqueueError", res, err)
			}
			stored := storedIDs(t, js, q)
			var want []int
			for i, j := range all {
				if !slices.Contains(stored, j.ID) {
					want = append(want, i)
				}
			}
			if len(want) != 2 || res.Enqueued != 3 {
				t.Fatalf("stream holds %v after Enqueue = %+v; want 3 of 5 jobs", stored, res)
			}
			if diff := cmp.Diff(want, qe.Failed); diff != "" {
				t.Errorf("Failed (-want +got):\n%s", diff)
			}

			// Enqueueing the failed ones again, once there is room, stores
			// each job exactly once.
			sc.MaxMsgs = -1
			if _, err := js.UpdateStream(t.Context(), sc); err != nil {
				t.Fatal(err)
			}
			var again []queue.PollJob
			for _, i := range qe.Failed {
				again = append(again, all[i])
			}
			if res, err := q.Enqueue(t.Context(), again...); err != nil || res.Enqueued != len(again) {
				t.Fatalf("Enqueue of the failed jobs = %+v, %v; want %d enqueued", res, err, len(again))
			}
			got := storedIDs(t, js, q)
			slices.Sort(got)
			var ids []string
			for _, j := range all {
				ids = append(ids, j.ID)
			}
			slices.Sort(ids)
			if diff := cmp.Diff(ids, got); diff != "" {
				t.Errorf("stream ids (-want +got):\n%s", diff)
			}
		})

		t.Run("stream gone: every job", func(t *testing.T) {
			q, js, _ := newQueue(t, url, queue.Config{})
			if err := js.DeleteStream(t.Context(), q.Stream()); err != nil {
				t.Fatal(err)
			}
			_, err := q.Enqueue(t.Context(), jobs("gone", 4, tick)...)
			var qe *queue.EnqueueError
			if !errors.As(err, &qe) || !slices.Equal(qe.Failed, []int{0, 1, 2, 3}) {
				t.Errorf("Enqueue = %v (%#v), want an *EnqueueError failing jobs 0-3", err, qe)
			}
		})

		t.Run("cancelled before publishing: every job", func(t *testing.T) {
			q, _, _ := newQueue(t, url, queue.Config{})
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			_, err := q.Enqueue(ctx, jobs("c", 3, tick)...)
			var qe *queue.EnqueueError
			if !errors.As(err, &qe) || !slices.Equal(qe.Failed, []int{0, 1, 2}) || !errors.Is(err, context.Canceled) {
				t.Errorf("Enqueue = %v (%#v), want an *EnqueueError failing jobs 0-2 wrapping context.Canceled", err, qe)
			}
		})

		t.Run("invalid job: ErrInvalidJob, nothing to retry", func(t *testing.T) {
			q, _, _ := newQueue(t, url, queue.Config{})
			_, err := q.Enqueue(t.Context(), append(jobs("i", 2, tick), queue.PollJob{ID: "x", VehicleID: "a.b"})...)
			var qe *queue.EnqueueError
			if !errors.Is(err, queue.ErrInvalidJob) || errors.As(err, &qe) {
				t.Errorf("Enqueue = %v, want ErrInvalidJob and no *EnqueueError", err)
			}
		})
	})
}
