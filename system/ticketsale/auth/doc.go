// Package auth is ticketsale's auth service: POST /api/users/signup,
// /signin, /signout and GET /api/users/currentuser, with the course's
// validation messages and session cookie. It publishes and consumes no
// events, so it runs without a broker.
//
// # Design
//
// Users live in the service's store with the password as "hash.salt" (the
// course's format; PBKDF2-SHA256 stands in for the course's scrypt, which
// the standard library lacks). Signup and signin set the session cookie
// (common.SetSession); currentuser answers {"currentUser": payload or
// null}, never 401.
package auth
