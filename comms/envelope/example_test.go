package envelope_test

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/usapp/usapp/comms/envelope"
)

// meterKeys is a head-end's view of its meters' signing keys; a real
// deployment resolves them through the PKI.
type meterKeys map[string]ed25519.PublicKey

var errUnknown = errors.New("no such meter")

func (k meterKeys) SigningKeys(sender string, _ time.Time) ([]ed25519.PublicKey, error) {
	if pub, ok := k[sender]; ok {
		return []ed25519.PublicKey{pub}, nil
	}
	return nil, errUnknown
}

// The meter signs, the gateway seals to the head-end, the head-end opens.
func Example() {
	const lfdi = "3E4F5A6B7C8D9E0F1A2B3C4D5E6F708192A3B4C5"
	meterPub, meterKey, _ := ed25519.GenerateKey(rand.Reader)
	headEndKey, _ := ecdh.X25519().GenerateKey(rand.Reader)
	now := time.Now()

	// At the meter.
	signed, err := envelope.Sign(meterKey, envelope.Header{
		Kind: "reading", Sender: lfdi, Counter: 42, Time: now.UnixMilli(),
	}, []byte(`{"wh":1250}`))
	if err != nil {
		panic(err)
	}

	// At the gateway: one session, many messages.
	session, err := envelope.NewSession(headEndKey.PublicKey(), "gateway-7")
	if err != nil {
		panic(err)
	}
	sealed, err := session.Seal(signed)
	if err != nil {
		panic(err)
	}

	// At the head-end.
	opener, err := envelope.NewOpener(envelope.OpenerConfig{
		Key: headEndKey, Keys: meterKeys{lfdi: meterPub},
	})
	if err != nil {
		panic(err)
	}
	msg, err := opener.Open(sealed, now)
	if err != nil {
		fmt.Println("rejected:", envelope.Reason(err))
		return
	}
	fmt.Println(msg.Header.Kind, msg.Header.Counter, string(msg.Body), "via", msg.From)

	// Anything altered on the way is rejected with a stable reason code.
	sealed[len(sealed)-1] ^= 1
	_, err = opener.Open(sealed, now)
	fmt.Println("tampered:", envelope.Reason(err))
	// Output:
	// reading 42 {"wh":1250} via gateway-7
	// tampered: decrypt
}
