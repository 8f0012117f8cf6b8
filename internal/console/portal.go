package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ticketflow-lab/tflab/system/ticketflow/communication"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/inquiries"
)

// The customer portal (original: the "inquiries" front end, spec §9.1):
// the inquiries list with details and comments (the ticket's client
// notes), the submit form, and the customer messages. Every page calls the
// services server-side: Inquiries for inquiries, Tickets for notes,
// Communication for messages.

// portalPageSize is the original list's page size.
const portalPageSize = 10

// categories are the submit form's choices, the original's default first.
var categories = []contracts.Category{contracts.CategoryTechnical, contracts.CategoryBilling, contracts.CategoryOther, contracts.CategoryGeneral}

type portalView struct {
	Page, Pages int
	Total       int
	Inquiries   []inquiries.View
	Submitted   string
	Error       string
}

type inquiryForm struct {
	Values     url.Values
	Errors     FieldErrors
	Categories []contracts.Category
}

type messagesView struct {
	Base       string // /portal or /desk
	OnlyUnread bool
	Messages   []communication.Message
	Total      int
	Error      string
}

type notesView struct {
	Path     string // the fragment's own URL
	TicketID string
	Notes    []string
	Value    string
	Errors   FieldErrors
}

func (c *Console) portalRoutes(mux *http.ServeMux) {
	h := c.ticketflowOnly
	mux.HandleFunc("GET /portal", h(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/portal/inquiries-list", http.StatusSeeOther)
	}))
	mux.HandleFunc("GET /portal/inquiries-list", h(c.portalList))
	mux.HandleFunc("GET /portal/submit-inquiry", h(func(w http.ResponseWriter, r *http.Request) {
		c.full(w, http.StatusOK, "portal-submit", "Submit an inquiry", inquiryForm{Values: url.Values{"category": {string(categories[0])}}, Categories: categories})
	}))
	mux.HandleFunc("POST /portal/submit-inquiry", h(c.portalSubmit))
	mux.HandleFunc("GET /portal/messages", h(c.messages(true)))
	mux.HandleFunc("POST /portal/messages/{id}/read", h(c.markMessage(true)))
	mux.HandleFunc("GET /portal/tickets/{id}/client-notes", h(c.notes))
	mux.HandleFunc("POST /portal/tickets/{id}/client-notes", h(c.addNote))
}

func (c *Console) portalList(w http.ResponseWriter, r *http.Request) {
	v := portalView{Page: 1, Submitted: r.URL.Query().Get("submitted")}
	if p, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && p > 0 {
		v.Page = p
	}
	code := http.StatusOK
	base, err := c.first("inquiries")
	if err == nil {
		var resp inquiries.ListResponse
		err = call(r.Context(), http.MethodGet, fmt.Sprintf("%s/inquiries?page=%d&limit=%d", base, v.Page, portalPageSize), nil, &resp)
		v.Inquiries, v.Total = resp.Data, resp.TotalCount
	}
	if err != nil {
		code, v.Error = http.StatusBadGateway, "cannot read the inquiries: "+err.Error()
	}
	v.Pages = max(1, (v.Total+portalPageSize-1)/portalPageSize)
	c.full(w, code, "portal", "Inquiries", v)
}

// portalSubmit validates the form as the Inquiries service does (each
// reason next to its field, 400, nothing sent), then submits it.
func (c *Console) portalSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	form := inquiryForm{Values: r.PostForm, Categories: categories}
	req := inquiries.SubmitRequest{Name: r.PostForm.Get("name"), Email: r.PostForm.Get("email"), Title: r.PostForm.Get("title"),
		Description: r.PostForm.Get("description"), Category: strings.ToLower(r.PostForm.Get("category"))}
	form.Errors = submitErrors(req)
	if len(form.Errors) > 0 {
		c.fragmentOrFull(w, r, http.StatusBadRequest, "inquiry-form", "portal-submit", "Submit an inquiry", form)
		return
	}
	base, err := c.first("inquiries")
	var resp inquiries.SubmitResponse
	if err == nil {
		err = call(r.Context(), http.MethodPost, base+"/inquiries/submit", req, &resp)
	}
	if err != nil {
		form.Errors = FieldErrors{"": "Failed to send the inquiry: " + err.Error()}
		c.fragmentOrFull(w, r, codeOf(err), "inquiry-form", "portal-submit", "Submit an inquiry", form)
		return
	}
	c.redirect(w, r, "/portal/inquiries-list?submitted="+url.QueryEscape(resp.ID))
}

// submitErrors checks a submission with the service's own validation plus
// the category, which the service would silently read as Other.
func submitErrors(req inquiries.SubmitRequest) FieldErrors {
	fe := FieldErrors{}
	if err := req.Validate(); err != nil {
		if ves, ok := err.(inquiries.ValidationErrors); ok {
			for _, ve := range ves {
				if fe[ve.Field] == "" {
					fe[ve.Field] = ve.Field + " " + ve.Msg
				}
			}
		} else {
			fe[""] = err.Error()
		}
	}
	if _, ok := contracts.ParseCategory(req.Category); !ok {
		fe["category"] = fmt.Sprintf("category %q is not one of %v", req.Category, categories)
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// redirect sends the browser to path: HX-Redirect for htmx, 303 otherwise.
func (c *Console) redirect(w http.ResponseWriter, r *http.Request, path string) {
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", path)
		w.WriteHeader(http.StatusOK)
		return
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// fragmentOrFull answers an htmx request with the fragment, a plain form
// post with the full page around it.
func (c *Console) fragmentOrFull(w http.ResponseWriter, r *http.Request, code int, fragment, nav, title string, data any) {
	if r.Header.Get("HX-Request") != "" {
		c.render(w, code, fragment, data)
		return
	}
	c.full(w, code, nav, title, data)
}

// messages lists the customers' messages (anonymous) or the working
// agent's inbox.
func (c *Console) messages(anonymous bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := messagesView{Base: "/desk", OnlyUnread: r.URL.Query().Get("onlyUnread") == "true"}
		path := "/anonymous-users/messages"
		if anonymous {
			v.Base = "/portal"
		} else {
			agent, ok := c.workingAgent(r)
			if !ok {
				c.render(w, http.StatusOK, "messages", v)
				return
			}
			path = "/logged-users/" + url.PathEscape(agent) + "/messages"
		}
		code := http.StatusOK
		base, err := c.first("communication")
		if err == nil {
			var resp communication.MessagesResponse
			err = call(r.Context(), http.MethodGet, fmt.Sprintf("%s%s?page=1&limit=10&onlyUnread=%t", base, path, v.OnlyUnread), nil, &resp)
			v.Messages, v.Total = resp.Data, resp.Total
		}
		if err != nil {
			code, v.Error = http.StatusBadGateway, "cannot read the messages: "+err.Error()
		}
		c.render(w, code, "messages", v)
	}
}

// markMessage flips a message's read flag, then answers the list.
func (c *Console) markMessage(anonymous bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		read, err := strconv.ParseBool(r.URL.Query().Get("isRead"))
		if err != nil {
			http.Error(w, "isRead: want true or false", http.StatusBadRequest)
			return
		}
		base, err := c.first("communication")
		if err == nil {
			err = call(r.Context(), http.MethodPut, fmt.Sprintf("%s/messages/%s?isRead=%t", base, url.PathEscape(r.PathValue("id")), read), nil, nil)
		}
		if err != nil {
			http.Error(w, "mark the message: "+err.Error(), codeOf(err))
			return
		}
		c.messages(anonymous)(w, r)
	}
}

// notes shows a ticket's client notes, one per line, with the add form.
func (c *Console) notes(w http.ResponseWriter, r *http.Request) {
	v := notesView{Path: r.URL.Path, TicketID: r.PathValue("id")}
	code := c.readNotes(r, &v)
	c.render(w, code, "notes", v)
}

func (c *Console) readNotes(r *http.Request, v *notesView) int {
	base, err := c.first("tickets")
	var text string
	if err == nil {
		err = call(r.Context(), http.MethodGet, base+"/tickets/"+url.PathEscape(v.TicketID)+"/client-notes", nil, &text)
	}
	if err != nil {
		v.Errors = FieldErrors{"": "cannot read the notes: " + err.Error()}
		return codeOf(err)
	}
	for line := range strings.SplitSeq(text, "\n") {
		if strings.TrimSpace(line) != "" {
			v.Notes = append(v.Notes, line)
		}
	}
	return http.StatusOK
}

// addNote appends a client note (POST /tickets/{id}/client-notes {note}).
func (c *Console) addNote(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	v := notesView{Path: r.URL.Path, TicketID: r.PathValue("id"), Value: r.PostForm.Get("note")}
	if strings.TrimSpace(v.Value) == "" {
		c.readNotes(r, &v)
		v.Errors = FieldErrors{"note": "note is required"}
		c.render(w, http.StatusBadRequest, "notes", v)
		return
	}
	base, err := c.first("tickets")
	if err == nil {
		err = call(r.Context(), http.MethodPost, base+"/tickets/"+url.PathEscape(v.TicketID)+"/client-notes", map[string]string{"note": v.Value}, nil)
	}
	if err != nil {
		c.readNotes(r, &v)
		v.Errors = FieldErrors{"note": "the note was not added: " + err.Error()}
		c.render(w, codeOf(err), "notes", v)
		return
	}
	v.Value = ""
	c.render(w, c.readNotes(r, &v), "notes", v)
}
