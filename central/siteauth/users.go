package siteauth

import (
	"github.com/vendsync/vendsync/sync/envelope"
)

// ReadableStreams are the streams whose messages central's operator users
// may read: the fleet's events, the downlink bucket and the site registry
// (public keys only). The HQ credentials bucket (hqauth: the token signing
// key and the fleet CA's key) is not one of them; its existence and size
// stay visible, its contents do not.
var ReadableStreams = []string{envelope.StreamIngest, "KV_" + envelope.BucketConfig, "KV_SITE_REGISTRY"}

// InternalInboxPrefix is the inbox prefix of the hub's own client: not the
// one operators' NATS users receive on (natsusers.InboxPrefix), so that an
// operator never reads central's replies, which carry the HQ credentials
// bucket's values.
const InternalInboxPrefix = "_HUB_INBOX"
