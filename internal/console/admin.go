package console

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// The admin panel (original: the "technical" front end, spec §8.3, §9.3):
// one tile per service with an anomaly API, enabling and disabling the
// nine in-app anomalies per message type. Every change goes to every
// instance of the service through its own API (POST /anomalies, DELETE
// /anomalies/{type}/messages/{messageType}), and each tile shows what every
// instance's GET /anomalies holds, so a change that did not reach an
// instance shows as such.

// anomalyView is one element of a service's GET /anomalies.
type anomalyView struct {
	AnomalyType string            `json:"anomalyType"`
	MessageType string            `json:"messageType"`
	Params      map[string]string `json:"params"`
	Fired       int64             `json:"fired"`
}

// tileAnomaly is one enabled anomaly as the tile shows it: on which of the
// service's instances it is enabled.
type tileAnomaly struct {
	AnomalyType, MessageType string
	Params                   string
	Fired                    int64
	On                       []string // instance ids
}

// tileView is one service's tile.
type tileView struct {
	Service      string
	Instances    []string
	Anomalies    []tileAnomaly
	Errors       FieldErrors // of the last enable/disable
	Values       url.Values
	Done         string
	AnomalyTypes []string
	MessageTypes []string
	DelayTypes   []string
}

type adminView struct {
	Tiles []tileView
}

func (c *Console) adminRoutes(mux *http.ServeMux) {
	h := c.ticketflowOnly
	mux.HandleFunc("GET /admin", h(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/applications-list", http.StatusSeeOther)
	}))
	mux.HandleFunc("GET /admin/applications-list", h(func(w http.ResponseWriter, r *http.Request) {
		var v adminView
		for _, svc := range c.anomalyServices() {
			v.Tiles = append(v.Tiles, c.tile(r.Context(), svc))
		}
		c.full(w, http.StatusOK, "admin", "Admin panel", v)
	}))
	mux.HandleFunc("GET /admin/tiles/{service}", h(c.tileOnly(func(w http.ResponseWriter, r *http.Request, svc string) {
		c.render(w, http.StatusOK, "tile", c.tile(r.Context(), svc))
	})))
	mux.HandleFunc("POST /admin/tiles/{service}/enable", h(c.tileOnly(c.enableAnomaly)))
	mux.HandleFunc("POST /admin/tiles/{service}/disable", h(c.tileOnly(c.disableAnomaly)))
}

// anomalyServices are the services with an anomaly API that this lab runs,
// in the vocabulary's order.
func (c *Console) anomalyServices() []string {
	var out []string
	for _, svc := range c.cfg.Vocabulary.InAppServices {
		if len(c.instances(svc)) > 0 {
			out = append(out, svc)
		}
	}
	return out
}

func (c *Console) tileOnly(next func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		svc := r.PathValue("service")
		if !slices.Contains(c.anomalyServices(), svc) {
			http.Error(w, fmt.Sprintf("no tile %q: this lab's services with an anomaly API are %s", svc, strings.Join(c.anomalyServices(), ", ")), http.StatusNotFound)
			return
		}
		next(w, r, svc)
	}
}

// delayFaults are the in-app faults of voc that take params.DelayInMs.
func delayFaults(voc spec.Vocabulary) []string {
	var out []string
	for _, f := range voc.InAppFaults {
		if f.Delay {
			out = append(out, f.Name)
		}
	}
	return out
}

// tile reads GET /anomalies of every instance of svc.
func (c *Console) tile(ctx context.Context, svc string) tileView {
	voc := c.cfg.Vocabulary
	v := tileView{Service: svc, AnomalyTypes: voc.InAppFaultNames(), MessageTypes: voc.MessageTypes, DelayTypes: delayFaults(voc)}
	ins := c.instances(svc)
	views := make([][]anomalyView, len(ins))
	errs := make([]error, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		v.Instances = append(v.Instances, in.ID)
		wg.Go(func() { errs[i] = call(ctx, http.MethodGet, in.HTTP+"/anomalies", nil, &views[i]) })
	}
	wg.Wait()
	byKey := map[string]*tileAnomaly{}
	var keys []string
	for i, in := range ins {
		if errs[i] != nil {
			v.Errors = errorsWith(v.Errors, "", fmt.Sprintf("%s: GET /anomalies: %v", in.ID, errs[i]))
			continue
		}
		for _, a := range views[i] {
			k := a.AnomalyType + "/" + a.MessageType
			t, ok := byKey[k]
			if !ok {
				t = &tileAnomaly{AnomalyType: a.AnomalyType, MessageType: a.MessageType, Params: paramsString(a.Params)}
				byKey[k] = t
				keys = append(keys, k)
			}
			t.On = append(t.On, in.ID)
			t.Fired += a.Fired
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		v.Anomalies = append(v.Anomalies, *byKey[k])
	}
	return v
}

func errorsWith(fe FieldErrors, field, msg string) FieldErrors {
	if fe == nil {
		fe = FieldErrors{}
	}
	if fe[field] != "" {
		msg = fe[field] + "; " + msg
	}
	fe[field] = msg
	return fe
}

func paramsString(p map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(p)) {
		parts = append(parts, k+"="+p[k])
	}
	return strings.Join(parts, " ")
}

// anomalyRequest is the body of POST /anomalies (the original's names).
type anomalyRequest struct {
	AnomalyType      string            `json:"anomalyType"`
	MessageType      string            `json:"messageType"`
	AdditionalParams map[string]string `json:"additionalParams"`
}

// parseAnomalyForm checks a tile's form; each reason is keyed by its field.
func parseAnomalyForm(voc spec.Vocabulary, form url.Values, needParams bool) (anomalyRequest, FieldErrors) {
	req := anomalyRequest{AnomalyType: form.Get("anomalyType"), MessageType: strings.TrimSpace(form.Get("messageType")), AdditionalParams: map[string]string{}}
	fe := FieldErrors{}
	if !slices.Contains(voc.InAppFaultNames(), req.AnomalyType) {
		fe["anomalyType"] = fmt.Sprintf("anomalyType %q: choose one of the nine anomaly types", req.AnomalyType)
	}
	switch {
	case req.MessageType == "":
		fe["messageType"] = "messageType is required"
	case strings.ContainsAny(req.MessageType, "/?#% "):
		fe["messageType"] = fmt.Sprintf("messageType %q: a message type name has no '/', '?', '#', '%%' or spaces", req.MessageType)
	}
	if needParams {
		delay := req.AnomalyType == "ConsumerDelayBeforeHandler" || req.AnomalyType == "ConsumerDelayAfterHandler"
		d := strings.TrimSpace(form.Get("DelayInMs"))
		switch n, err := strconv.Atoi(d); {
		case d == "" && delay:
			fe["DelayInMs"] = "DelayInMs is required for " + req.AnomalyType
		case d == "":
		case err != nil || n < 1:
			fe["DelayInMs"] = fmt.Sprintf("DelayInMs %q: want a whole number of milliseconds ≥ 1", d)
		case !delay:
			fe["DelayInMs"] = "DelayInMs applies to the two delay types only"
		default:
			req.AdditionalParams["DelayInMs"] = strconv.Itoa(n)
		}
		if s := strings.TrimSpace(form.Get("StatusFilter")); s != "" {
			if !strings.HasPrefix(req.AnomalyType, "Consumer") {
				fe["StatusFilter"] = "StatusFilter applies to the four consumer types only"
			} else {
				req.AdditionalParams["StatusFilter"] = s
			}
		}
	}
	if len(fe) > 0 {
		return req, fe
	}
	return req, nil
}

// enableAnomaly posts the anomaly to every instance of the service. When
// an instance refuses it, it is disabled again on every instance (nothing
// stays half-enabled) and the tile shows why.
func (c *Console) enableAnomaly(w http.ResponseWriter, r *http.Request, svc string) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req, fe := parseAnomalyForm(c.cfg.Vocabulary, r.PostForm, true)
	if fe != nil {
		c.tileAnswer(w, r, http.StatusBadRequest, svc, fe, "")
		return
	}
	err := c.everyInstance(r.Context(), svc, func(ctx context.Context, base string) error {
		return call(ctx, http.MethodPost, base+"/anomalies", req, nil)
	})
	if err != nil {
		undo := c.everyInstance(context.WithoutCancel(r.Context()), svc, func(ctx context.Context, base string) error {
			return call(ctx, http.MethodDelete, deletePath(base, req), nil, nil)
		})
		msg := "not enabled: " + err.Error()
		if undo != nil {
			msg += "; disabling it again failed too: " + undo.Error()
		}
		c.tileAnswer(w, r, codeOf(err), svc, FieldErrors{"": msg}, "")
		return
	}
	c.log.Info("Console enabled an in-app anomaly", "service", svc, "anomaly", req.AnomalyType, "messageType", req.MessageType)
	c.tileAnswer(w, r, http.StatusOK, svc, nil, "enabled "+req.AnomalyType+" on "+req.MessageType)
}

func (c *Console) disableAnomaly(w http.ResponseWriter, r *http.Request, svc string) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req, fe := parseAnomalyForm(c.cfg.Vocabulary, r.PostForm, false)
	if fe != nil {
		c.tileAnswer(w, r, http.StatusBadRequest, svc, fe, "")
		return
	}
	err := c.everyInstance(r.Context(), svc, func(ctx context.Context, base string) error {
		return call(ctx, http.MethodDelete, deletePath(base, req), nil, nil)
	})
	if err != nil {
		c.tileAnswer(w, r, codeOf(err), svc, FieldErrors{"": "not disabled everywhere: " + err.Error()}, "")
		return
	}
	c.log.Info("Console disabled an in-app anomaly", "service", svc, "anomaly", req.AnomalyType, "messageType", req.MessageType)
	c.tileAnswer(w, r, http.StatusOK, svc, nil, "disabled "+req.AnomalyType+" on "+req.MessageType)
}

func deletePath(base string, req anomalyRequest) string {
	return base + "/anomalies/" + url.PathEscape(req.AnomalyType) + "/messages/" + url.PathEscape(req.MessageType)
}

// everyInstance calls fn on every instance of svc, one after another (the
// first instance broadcasts; the others then apply an idempotent change),
// and joins the failures, each named by its instance.
func (c *Console) everyInstance(ctx context.Context, svc string, fn func(ctx context.Context, base string) error) error {
	var errs []error
	for _, in := range c.instances(svc) {
		if err := fn(ctx, in.HTTP); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", in.ID, err))
		}
	}
	err := errors.Join(errs...)
	if len(errs) == 1 {
		err = errs[0]
	}
	return err
}

// tileAnswer re-reads the tile and answers it (htmx) or the whole panel.
func (c *Console) tileAnswer(w http.ResponseWriter, r *http.Request, code int, svc string, fe FieldErrors, done string) {
	t := c.tile(r.Context(), svc)
	for k, v := range fe {
		t.Errors = errorsWith(t.Errors, k, v)
	}
	t.Done = done
	if fe != nil {
		t.Values = r.PostForm
	}
	if r.Header.Get("HX-Request") != "" {
		c.render(w, code, "tile", t)
		return
	}
	var v adminView
	for _, s := range c.anomalyServices() {
		if s == svc {
			v.Tiles = append(v.Tiles, t)
		} else {
			v.Tiles = append(v.Tiles, c.tile(r.Context(), s))
		}
	}
	c.full(w, code, "admin", "Admin panel", v)
}
