package anomalies

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// InApp enables one of Ticketflow's nine in-app anomalies through the
// service's own anomaly API (the original's names and parameters):
//
//	POST   <http>/anomalies {anomalyType, messageType, additionalParams}
//	DELETE <http>/anomalies/{anomalyType}/messages/{messageType}
//
// The services synchronize the registry between their instances, but the
// executor still posts to every instance: a change that one instance failed
// to broadcast must not leave another instance unfaulted. For the same
// reason a 503 "applied on this instance, but the broadcast … failed" (the
// broker is out of reach) counts as done. Heal reads how often
// the anomaly fired (GET /anomalies, summed over instances) into inapp.fired,
// then deletes it everywhere.
type InApp struct {
	Env         *Env
	Anomaly     string // ConsumerErrorBeforeHandler, …
	Service     string
	MessageType string
	// DelayInMs is required by the two delay types.
	DelayInMs int
	// StatusFilter limits consumer anomalies to messages about tickets in
	// this status.
	StatusFilter string
}

var _ Anomaly = (*InApp)(nil)

// Name is "<anomaly>-<service>-<messageType>".
func (a *InApp) Name() string { return a.Anomaly + "-" + a.Service + "-" + a.MessageType }

type anomalyRequest struct {
	AnomalyType      string            `json:"anomalyType"`
	MessageType      string            `json:"messageType"`
	AdditionalParams map[string]string `json:"additionalParams,omitempty"`
}

type anomalyView struct {
	AnomalyType string `json:"anomalyType"`
	MessageType string `json:"messageType"`
	Fired       int64  `json:"fired"`
}

// Inject enables the anomaly on every instance of the service.
func (a *InApp) Inject(ctx context.Context) (Healer, error) {
	env := a.Env
	targets, err := env.instances(a.Service, 0)
	if err != nil {
		return nil, fmt.Errorf("inject %s: %w", a.Name(), err)
	}
	body := anomalyRequest{AnomalyType: a.Anomaly, MessageType: a.MessageType, AdditionalParams: map[string]string{}}
	if a.DelayInMs > 0 {
		body.AdditionalParams["DelayInMs"] = strconv.Itoa(a.DelayInMs)
	}
	if a.StatusFilter != "" {
		body.AdditionalParams["StatusFilter"] = a.StatusFilter
	}
	env.log().Info("Injecting anomaly", "anomaly", a.Name(), "instances", len(targets))
	var done []Instance
	heal := HealFunc(func(ctx context.Context) error {
		var (
			errs  []error
			fired int64
			seen  bool
		)
		for _, in := range done {
			n, err := a.fired(ctx, in)
			if err == nil {
				fired += n
				seen = true
			}
			del := in.HTTP + "/anomalies/" + url.PathEscape(a.Anomaly) + "/messages/" + url.PathEscape(a.MessageType)
			if err := (request{client: env.http(), method: http.MethodDelete, url: del}).do(ctx); err != nil && !isStatus(err, http.StatusNotFound) && !localOnly(err) {
				errs = append(errs, fmt.Errorf("heal %s on %s: %w", a.Name(), in.ID, err))
			}
		}
		if seen {
			env.Evidence.Add(CounterInAppFired, float64(fired))
		}
		err := errors.Join(errs...)
		env.log().Info("Anomaly healed", "anomaly", a.Name(), "fired", fired, "err", err)
		return err
	})
	for _, in := range targets {
		if in.HTTP == "" {
			return nil, errors.Join(fmt.Errorf("inject %s: instance %s has no HTTP address", a.Name(), in.ID), healNow(ctx, heal))
		}
		if err := (request{client: env.http(), method: http.MethodPost, url: in.HTTP + "/anomalies", body: body}).do(ctx); err != nil && !localOnly(err) {
			return nil, errors.Join(fmt.Errorf("inject %s on %s: %w", a.Name(), in.ID, err), healNow(ctx, heal))
		}
		done = append(done, in)
	}
	return heal, nil
}

// FiredCounter is an installed fault that can tell how often it has fired.
type FiredCounter interface {
	FiredSoFar(ctx context.Context) (int64, error)
}

var _ FiredCounter = (*InApp)(nil)

// FiredSoFar sums how often the anomaly has fired on the service's
// instances (GET /anomalies); an instance that does not answer is left out.
func (a *InApp) FiredSoFar(ctx context.Context) (int64, error) {
	targets, err := a.Env.instances(a.Service, 0)
	if err != nil {
		return 0, fmt.Errorf("fired %s: %w", a.Name(), err)
	}
	var (
		n    int64
		errs []error
	)
	for _, in := range targets {
		v, err := a.fired(ctx, in)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n += v
	}
	if len(errs) == len(targets) && len(errs) > 0 {
		return 0, fmt.Errorf("fired %s: %w", a.Name(), errors.Join(errs...))
	}
	return n, nil
}

// fired returns how often the anomaly fired on one instance (0 when it is no
// longer listed, e.g. after a restart emptied the registry).
func (a *InApp) fired(ctx context.Context, in Instance) (int64, error) {
	var views []anomalyView
	if err := (request{client: a.Env.http(), method: http.MethodGet, url: in.HTTP + "/anomalies", out: &views}).do(ctx); err != nil {
		return 0, err
	}
	for _, v := range views {
		if strings.EqualFold(v.AnomalyType, a.Anomaly) && v.MessageType == a.MessageType {
			return v.Fired, nil
		}
	}
	return 0, nil
}

// localOnly reports the service's 503 for a change applied on the instance
// whose broadcast to the other instances failed (the broker is out of
// reach). The executor addresses every instance itself, so the change is
// complete.
func localOnly(err error) bool {
	se, ok := errors.AsType[*StatusError](err)
	return ok && se.Code == http.StatusServiceUnavailable && strings.Contains(se.Body, "applied on this instance")
}
