// Package kvbucket holds what the JetStream KV backends of the credentials,
// the vehicle registry and the marks share: the bucket names a prefix gives,
// opening (or creating) a bucket, the escaping of ids into key tokens, the
// test for a lost compare-and-set, the last sequence of a bucket's stream and
// stopping a watch. It must not know what the buckets hold.
package kvbucket
