package rabbitnode

import (
	"strings"
	"testing"
)

func TestCtlEnvLeavesTheNodeNameOut(t *testing.T) {
	env := []string{"HOME=/h", "RABBITMQ_NODENAME=a@b", "ERL_EPMD_PORT=1"}
	got := ctlEnv(env)
	if strings.Join(got, " ") != "HOME=/h ERL_EPMD_PORT=1" {
		t.Errorf("ctlEnv = %v", got)
	}
	if len(env) != 3 || env[1] != "RABBITMQ_NODENAME=a@b" {
		t.Errorf("ctlEnv changed its input: %v", env)
	}
}
