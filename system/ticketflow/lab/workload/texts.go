package workload

// phrases is the text corpus of one language: an inquiry's title is one
// title, its description one problem followed by one closing. Every
// combination is detected as its language by the Inquiries service and
// translated without unknown words by the Translations service's glossary
// (texts_test.go proves both), so a run exercises translation for real.
type phrases struct {
	titles, problems, closings []string
}

// corpus holds the languages the generator can write. English needs no
// translation; pl, de, es and fr are the glossary's languages.
var corpus = map[string]phrases{
	"en": {
		titles: []string{
			"Cannot log in", "Invoice is wrong", "Printer does not work", "Account is blocked",
			"Server does not respond", "Application is slow", "No confirmation after payment", "Wrong data in the report",
		},
		problems: []string{
			"I cannot log in to the system since yesterday.",
			"The invoice for March is wrong and I was charged twice.",
			"My printer does not work after the last update.",
			"My account is blocked and I cannot reset my password.",
			"The server does not respond and our team cannot work.",
			"The application is very slow since the last update.",
			"I did not receive the confirmation e-mail after the payment.",
			"The report shows wrong data for the last month.",
		},
		closings: []string{"Please help.", "Thank you in advance.", "Please reply quickly.", "Best regards."},
	},
	"pl": {
		titles: []string{
			"Nie mogę się zalogować", "Faktura jest błędna", "Drukarka nie działa", "Konto jest zablokowane",
			"Serwer nie odpowiada", "Aplikacja działa wolno", "Pytanie o płatność", "Błędne dane w systemie",
		},
		problems: []string{
			"Nie mogę zalogować się do systemu od wczoraj.",
			"Faktura za marzec jest błędna, kwota jest nieprawidłowa.",
			"Drukarka nie działa po ostatniej aktualizacji.",
			"Moje konto jest zablokowane i nie mogę zmienić hasła.",
			"Serwer nie odpowiada, połączenie nie działa od wczoraj.",
			"Aplikacja działa bardzo wolno od ostatniej aktualizacji.",
			"Nie otrzymałem faktury za marzec.",
			"Aplikacja wyświetla komunikat błędu i zawiesza się.",
		},
		closings: []string{"Proszę o pomoc.", "Z góry dziękuję.", "Proszę o szybką odpowiedź.", "Pozdrawiam."},
	},
	"de": {
		titles: []string{
			"Anmeldung nicht möglich", "Die Rechnung ist falsch", "Der Drucker funktioniert nicht", "Das Konto ist gesperrt",
			"Der Server reagiert nicht", "Die Anwendung ist langsam", "Keine Rechnung nach der Zahlung", "Die Daten im System sind falsch",
		},
		problems: []string{
			"Ich kann mich seit gestern nicht mehr anmelden.",
			"Die Rechnung für März ist falsch, ich habe zweimal bezahlt.",
			"Mein Drucker funktioniert nach dem letzten Update nicht mehr.",
			"Mein Konto ist gesperrt und ich kann mein Passwort nicht ändern.",
			"Der Server reagiert nicht und wir haben keinen Zugriff auf das System.",
			"Die Anwendung ist seit dem letzten Update sehr langsam.",
			"Ich habe nach der Zahlung keine Rechnung erhalten.",
			"Die Anwendung stürzt ab und eine Fehlermeldung erscheint.",
		},
		closings: []string{"Bitte helfen Sie mir.", "Danke im Voraus.", "Bitte kontaktieren Sie mich.", "Mit freundlichen Grüßen."},
	},
	"es": {
		titles: []string{
			"No puedo iniciar sesión", "Error en la factura", "La impresora no funciona", "Mi cuenta está bloqueada",
			"El servidor no responde", "La aplicación es lenta", "Problema con el pago", "Error en el sistema",
		},
		problems: []string{
			"No puedo iniciar sesión en el sistema desde ayer.",
			"La factura de marzo es incorrecta y me cobraron dos veces.",
			"Mi impresora no funciona después de la última actualización.",
			"Mi cuenta está bloqueada y no puedo restablecer la contraseña.",
			"El servidor no responde desde esta mañana.",
			"La aplicación es muy lenta desde la última actualización.",
			"Quiero cancelar mi suscripción y necesito un reembolso.",
			"La aplicación se cuelga y aparece un mensaje de error.",
		},
		closings: []string{"Por favor, ayúdenme.", "Muchas gracias por la ayuda.", "Necesito ayuda urgente.", "Saludos cordiales."},
	},
	"fr": {
		titles: []string{
			"Connexion impossible", "La facture est incorrecte", "L'imprimante ne fonctionne pas", "Le compte est bloqué",
			"Le serveur ne répond pas", "L'application est lente", "Problème de paiement", "Erreur dans le système",
		},
		problems: []string{
			"Je ne peux plus me connecter au système depuis hier.",
			"La facture de mars est incorrecte et j'ai été débité deux fois.",
			"Mon imprimante ne fonctionne plus après la dernière mise à jour.",
			"Mon compte est bloqué et je ne peux pas changer mon mot de passe.",
			"Le serveur ne répond pas et nous n'avons pas accès au système.",
			"L'application est très lente depuis la dernière mise à jour.",
			"Je n'ai pas reçu la facture après le paiement.",
			"L'application plante et un message d'erreur s'affiche.",
		},
		closings: []string{"Aidez-moi s'il vous plaît.", "Merci d'avance.", "C'est urgent, merci.", "Cordialement."},
	},
}

// Text is one title and description the generator may write.
type Text struct{ Title, Description string }

// Texts lists every text the generator writes in lang (nil for a language it
// does not know), for tests that check the corpus against the services.
func Texts(lang string) []Text {
	p, ok := corpus[lang]
	if !ok {
		return nil
	}
	var out []Text
	for _, t := range p.titles {
		for _, pr := range p.problems {
			for _, c := range p.closings {
				out = append(out, Text{Title: t, Description: pr + " " + c})
			}
		}
	}
	return out
}
