//! The three pages the e-mailed links open: confirm an address
//! (`/verify-email`), choose a new password (`/reset-password`) and accept an
//! invitation (`/accept-invitation`), each with its token in the fragment
//! (`#token=…`, never sent to a server or kept in a log).
//!
//! Each page is one small document: no external script, style or font. Its
//! one script reads the token, takes it out of the address bar, sends it to
//! the API with what the person typed, and shows the server's answer. The
//! page's Content-Security-Policy allows only that script and that style, by
//! their SHA-256, and requests to this origin. They are served unless
//! `http.app_base_url` names a front end of its own, which the links then
//! point at instead.

use actix_web::{HttpResponse, get};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:28em;margin:3em auto;padding:0 1em;color:#1d2733}\
h1{font-size:1.4em;color:#0f4c5c}label{display:block;margin:.8em 0 .2em}input{width:100%;padding:.4em;font:inherit}\
button{margin-top:1em;padding:.5em 1.2em;font:inherit;background:#0f4c5c;color:#fff;border:0;border-radius:4px}\
#answer{margin-top:1.5em;padding:.8em;border-radius:4px}.ok{background:#e3f4ea}.bad{background:#fbe5e5}";

/// Shared by the three pages: which route to call with which fields, read
/// from the form's `data-` attributes.
const SCRIPT: &str = r#"(function(){
var form=document.getElementById('step'),answer=document.getElementById('answer');
var m=/(?:^|[#&])token=([0-9a-fA-F]+)/.exec(location.hash);
var token=m?m[1]:'';
if(location.hash){history.replaceState(null,'',location.pathname);}
function show(ok,text){answer.hidden=false;answer.className=ok?'ok':'bad';answer.textContent=text;}
if(!token){form.hidden=true;show(false,'This link has no token. Open the link from the e-mail again, or ask for a new one.');return;}
function send(){
 var body={token:token};
 form.querySelectorAll('input[name]').forEach(function(i){if(i.value!==''){body[i.name]=i.value;}});
 form.querySelector('button').disabled=true;
 fetch(form.dataset.api,{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify(body)})
 .then(function(r){return r.json().catch(function(){return {detail:'The server answered '+r.status+'. Try again later.'};}).then(function(v){return [r.ok,v];});})
 .then(function(x){
  var v=x[1],text=v.detail||'';
  if(x[0]){form.hidden=true;text=form.dataset.done||text;}
  else{form.querySelector('button').disabled=false;(v.errors||[]).forEach(function(e){text+=' '+e.field+': '+e.message;});}
  show(x[0],text);
 })
 .catch(function(){form.querySelector('button').disabled=false;show(false,'The server could not be reached. Try again.');});
}
form.addEventListener('submit',function(e){e.preventDefault();send();});
if(form.dataset.auto==='yes'){send();}
})();"#;

fn sha256_source(s: &str) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s.as_bytes()))
    )
}

/// The pages' policy: nothing but their own script and style, and requests
/// to this origin.
static CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
        sha256_source(SCRIPT),
        sha256_source(STYLE)
    )
});

struct Page {
    title: &'static str,
    intro: &'static str,
    api: &'static str,
    /// Sent as soon as the page opens (nothing to type).
    auto: bool,
    fields: &'static str,
    button: &'static str,
    done: &'static str,
}

fn render(p: &Page) -> HttpResponse {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{title} · Dentex</title>\
         <style>{STYLE}</style></head><body><h1>{title}</h1><p>{intro}</p>\
         <form id=\"step\" data-api=\"{api}\" data-auto=\"{auto}\" data-done=\"{done}\">{fields}\
         <button type=\"submit\">{button}</button></form>\
         <div id=\"answer\" role=\"status\" hidden></div><script>{SCRIPT}</script></body></html>",
        title = p.title,
        intro = p.intro,
        api = p.api,
        auto = if p.auto { "yes" } else { "no" },
        done = p.done,
        fields = p.fields,
        button = p.button,
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", CSP.as_str()))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("Cache-Control", "no-store"))
        .body(html)
}

/// Confirms the address as soon as it opens.
#[get("/verify-email")]
pub async fn verify_email() -> HttpResponse {
    render(&Page {
        title: "Confirm your e-mail address",
        intro: "Confirming your address…",
        api: "/api/v1/auth/verify-email",
        auto: true,
        fields: "",
        button: "Confirm again",
        done: "Your e-mail address is confirmed. You can sign in.",
    })
}

#[get("/reset-password")]
pub async fn reset_password() -> HttpResponse {
    render(&Page {
        title: "Choose a new password",
        intro: "At least 12 characters, not a commonly used password. Every session is signed out.",
        api: "/api/v1/auth/password-reset/confirm",
        auto: false,
        fields: "<label for=\"new_password\">New password</label>\
                 <input id=\"new_password\" name=\"new_password\" type=\"password\" autocomplete=\"new-password\" required minlength=\"12\">",
        button: "Set the password",
        done: "Your password is changed. Sign in with the new one.",
    })
}

#[get("/accept-invitation")]
pub async fn accept_invitation() -> HttpResponse {
    render(&Page {
        title: "Join your team on Dentex",
        intro: "If you have no Dentex account yet, give your name and a password for it; otherwise leave both empty.",
        api: "/api/v1/invitations/accept",
        auto: false,
        fields: "<label for=\"display_name\">Your name</label>\
                 <input id=\"display_name\" name=\"display_name\" autocomplete=\"name\">\
                 <label for=\"password\">Password</label>\
                 <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\">",
        button: "Accept the invitation",
        done: "You are a member now. Sign in to start.",
    })
}

/// Whether this server serves the pages (app data, for the fallback).
pub struct Served(pub bool);

/// Registers the three pages, unless a front end of its own serves them.
pub fn configure(c: &mut actix_web::web::ServiceConfig, serve: bool) {
    if serve {
        c.service(verify_email)
            .service(reset_password)
            .service(accept_invitation);
    }
}

/// The pages' paths, for the fallback's 405.
pub const PATHS: [&str; 3] = ["/verify-email", "/reset-password", "/accept-invitation"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_script_and_style_by_hash_and_nothing_else() {
        assert!(CSP.contains(&sha256_source(SCRIPT)));
        assert!(CSP.contains(&sha256_source(STYLE)));
        assert!(!CSP.contains("unsafe"));
        assert!(CSP.starts_with("default-src 'none'"));
    }
}
