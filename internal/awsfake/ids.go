package awsfake

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
)

// Identifiers come from crypto/rand rather than the seeded source so that
// the fault schedule (seeded) does not shift when a test adds a resource.

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

func randomFrom(alphabet string, n int) string {
	var sb strings.Builder
	max := big.NewInt(int64(len(alphabet)))
	for range n {
		i, _ := rand.Int(rand.Reader, max)
		sb.WriteByte(alphabet[i.Int64()])
	}
	return sb.String()
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// newDeploymentID mirrors ECS: "ecs-svc/" and 19 digits.
func newDeploymentID() string {
	return "ecs-svc/" + randomFrom("123456789", 1) + randomFrom("0123456789", 18)
}

// newSecretSuffix is the six characters Secrets Manager appends to a
// secret's name in its ARN.
func newSecretSuffix() string {
	return randomFrom("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 6)
}
