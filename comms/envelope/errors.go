package envelope

import "errors"

// Rejection classes. Every error returned by Open, OpenBatch, Sign, Seal and
// ReplayWindow matches exactly one of these with errors.Is (an unknown-sender
// error also matches whatever the KeyResolver returned). Error strings never
// contain key material, bodies or readings.
var (
	ErrMalformed     = errors.New("envelope: malformed message")
	ErrTooLarge      = errors.New("envelope: message too large")
	ErrVersion       = errors.New("envelope: unsupported version")
	ErrDecrypt       = errors.New("envelope: decryption failed")
	ErrBadSignature  = errors.New("envelope: bad signature")
	ErrUnknownSender = errors.New("envelope: unknown sender")
	ErrStale         = errors.New("envelope: timestamp outside freshness window")
	ErrReplay        = errors.New("envelope: replayed counter")
	ErrPlainRejected = errors.New("envelope: plain message rejected by secure opener")
	ErrNotPlain      = errors.New("envelope: protected message sent to plain opener")
	ErrConfig        = errors.New("envelope: invalid configuration")
)

// reasons is ordered: the first sentinel an error matches names it. Unknown
// sender comes first because it wraps a resolver error that may itself wrap
// anything.
var reasons = []struct {
	err  error
	code string
}{
	{ErrUnknownSender, "unknown_sender"},
	{ErrTooLarge, "too_large"},
	{ErrMalformed, "malformed"},
	{ErrVersion, "version"},
	{ErrDecrypt, "decrypt"},
	{ErrBadSignature, "bad_signature"},
	{ErrStale, "stale"},
	{ErrReplay, "replay"},
	{ErrPlainRejected, "plain_rejected"},
	{ErrNotPlain, "not_plain"},
	{ErrConfig, "config"},
}

// Reason maps an error to a stable short code for metrics labels and logs:
// "malformed", "too_large", "version", "decrypt", "bad_signature",
// "unknown_sender", "stale", "replay", "plain_rejected", "not_plain",
// "config", or "internal" for anything else. Reason(nil) is "".
// The codes are a public contract (dashboards and alerts key on them).
func Reason(err error) string {
	if err == nil {
		return ""
	}
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.code
		}
	}
	return "internal"
}
