package tsapp

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ticketflow-lab/tflab/system/runtime"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
)

// Setting keys ticketsale's runtime reads from service.Config.Settings
// besides the shared runtime's (runtime.SettingOutboxPoll, ...),
// common.SettingFaithful, common.SettingVersionRule and
// common.SettingJWTKey.
const (
	// SettingAckWait is NATS Streaming's ackWait: a handling that failed,
	// or is still running after this long, is delivered again this long
	// later (default 5s, the course's value).
	SettingAckWait = "ack-wait"
	// SettingMaxInFlight is the prefetch and concurrency of every consumer
	// (default 16; NATS's max in flight).
	SettingMaxInFlight = "max-in-flight"
	// SettingMaxDeliveries dead-letters a message after this many failed
	// handlings; 0 (default, as NATS Streaming) redelivers forever.
	SettingMaxDeliveries = "max-deliveries"
	// SettingHandlerDelay makes every handling wait this long before its
	// transaction (a slow consumer; default 0).
	SettingHandlerDelay = "handler-delay"
)

// Settings are the runtime's parsed settings: the shared runtime's and
// ticketsale's, toggles included.
type Settings struct {
	runtime.Settings
	AckWait, HandlerDelay      time.Duration
	MaxInFlight, MaxDeliveries int
	JWTKey                     string
	Toggles                    common.Toggles
}

// ParseSettings reads the runtime's settings and toggles from cfg; every
// malformed value is reported, naming its key.
func ParseSettings(cfg service.Config) (Settings, error) {
	rs, err := runtime.ParseSettings(cfg)
	s := Settings{Settings: rs, MaxInFlight: 16, JWTKey: common.DefaultJWTKey}
	var ackErr error
	s.AckWait, ackErr = runtime.PositiveDuration(cfg.Settings, SettingAckWait, 5*time.Second)
	errs := []error{err, ackErr,
		runtime.Duration(cfg.Settings, SettingHandlerDelay, &s.HandlerDelay),
		runtime.Int(cfg.Settings, SettingMaxInFlight, &s.MaxInFlight, 1),
		runtime.Int(cfg.Settings, SettingMaxDeliveries, &s.MaxDeliveries, 0),
	}
	if k, ok := cfg.Settings[common.SettingJWTKey]; ok {
		if k == "" {
			errs = append(errs, fmt.Errorf("setting %s: must not be empty", common.SettingJWTKey))
		}
		s.JWTKey = k
	}
	t, err := common.ParseToggles(cfg.Settings, cfg.Unprotect)
	s.Toggles = t
	return s, errors.Join(append(errs, err)...)
}

// maxAttempts is the messaging layer's MaxAttempts for MaxDeliveries.
func (s Settings) maxAttempts() int {
	if s.MaxDeliveries == 0 {
		return math.MaxInt32
	}
	return s.MaxDeliveries
}
