package tsapp

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
)

// Setting keys the runtime reads from service.Config.Settings (besides
// common.SettingFaithful, common.SettingVersionRule and common.SettingJWTKey).
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
	// SettingClockOffset is the initial clock skew, e.g. -3s (POST /lab/clock
	// changes it).
	SettingClockOffset    = "clock-offset"
	SettingHeartbeat      = "heartbeat"       // AMQP heartbeat (messaging default 10s)
	SettingConfirmTimeout = "confirm-timeout" // publisher confirm timeout (default 5s)
	SettingOutboxPoll     = "outbox-poll"     // outbox relay poll interval (default 1s)
	SettingOTLPEndpoint   = "otlp-endpoint"   // OTLP/HTTP collector
	// SettingShutdownTimeout bounds the HTTP drain and the span flush (default 5s).
	SettingShutdownTimeout = "shutdown-timeout"
)

// Settings are the runtime's parsed settings.
type Settings struct {
	AckWait, HandlerDelay, ClockOffset, Heartbeat, ConfirmTimeout, OutboxPoll, ShutdownTimeout time.Duration
	MaxInFlight, MaxDeliveries                                                                 int
	OTLPEndpoint, JWTKey                                                                       string
	Toggles                                                                                    common.Toggles
}

// ParseSettings reads the runtime's settings and toggles from cfg; every
// malformed value is reported, naming its key.
func ParseSettings(cfg service.Config) (Settings, error) {
	s := Settings{AckWait: 5 * time.Second, ShutdownTimeout: 5 * time.Second, MaxInFlight: 16,
		JWTKey: common.DefaultJWTKey, OTLPEndpoint: cfg.Settings[SettingOTLPEndpoint]}
	var errs []error
	for key, p := range map[string]*time.Duration{SettingAckWait: &s.AckWait, SettingHandlerDelay: &s.HandlerDelay,
		SettingHeartbeat: &s.Heartbeat, SettingConfirmTimeout: &s.ConfirmTimeout, SettingOutboxPoll: &s.OutboxPoll,
		SettingShutdownTimeout: &s.ShutdownTimeout} {
		errs = append(errs, Duration(cfg.Settings, key, p))
	}
	if v, ok := cfg.Settings[SettingClockOffset]; ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("setting %s=%q: %w", SettingClockOffset, v, err))
		}
		s.ClockOffset = d
	}
	errs = append(errs, positiveInt(cfg.Settings, SettingMaxInFlight, &s.MaxInFlight, 1),
		positiveInt(cfg.Settings, SettingMaxDeliveries, &s.MaxDeliveries, 0))
	if s.AckWait <= 0 {
		errs = append(errs, fmt.Errorf("setting %s: must be positive", SettingAckWait))
	}
	if k, ok := cfg.Settings[common.SettingJWTKey]; ok {
		if k == "" {
			errs = append(errs, fmt.Errorf("setting %s: must not be empty", common.SettingJWTKey))
		}
		s.JWTKey = k
	}
	t, err := common.ParseToggles(cfg.Settings, cfg.Unprotect)
	errs = append(errs, err)
	s.Toggles = t
	return s, errors.Join(errs...)
}

// maxAttempts is the messaging layer's MaxAttempts for MaxDeliveries.
func (s Settings) maxAttempts() int {
	if s.MaxDeliveries == 0 {
		return math.MaxInt32
	}
	return s.MaxDeliveries
}

// Duration parses settings[key] into *p when present; negative or malformed
// values are errors naming the key.
func Duration(settings map[string]string, key string, p *time.Duration) error {
	v, ok := settings[key]
	if !ok {
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return fmt.Errorf("setting %s=%q: want a non-negative duration such as 5s", key, v)
	}
	*p = d
	return nil
}

func positiveInt(settings map[string]string, key string, p *int, lowest int) error {
	v, ok := settings[key]
	if !ok {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lowest {
		return fmt.Errorf("setting %s=%q: want an integer ≥ %d", key, v, lowest)
	}
	*p = n
	return nil
}
