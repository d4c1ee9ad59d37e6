/* html.c: page rendering with a capped growable buffer. */
#include "html.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "err.h"

#define PAGE_MAX (64 * 1024)

/* Pages hold the csrf token and the confirmation code: lib/buf.c grows
 * without realloc and wipes what it leaves. Errors are sticky in b->err. */
static void page_init(struct buf *b)
{
	buf_init(b, 2048, PAGE_MAX);
}

static void put(struct buf *b, const char *s, size_t n)
{
	(void)buf_add(b, s, n);
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void putf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		b->err = b->err ? b->err : ERR_INTERNAL;
	else
		put(b, tmp, (size_t)n);
}

static void put_esc(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			puts_(b, "&amp;");
			break;
		case '<':
			puts_(b, "&lt;");
			break;
		case '>':
			puts_(b, "&gt;");
			break;
		case '"':
			puts_(b, "&quot;");
			break;
		case '\'':
			puts_(b, "&#39;");
			break;
		default:
			put(b, s, 1);
		}
	}
}

static const char STYLE[] =
	"body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;"
	"background:#f4f5f7;color:#1b1d21;line-height:1.45}"
	"main{max-width:34rem;margin:2rem auto;padding:1.5rem;background:#fff;"
	"border-radius:.6rem;box-shadow:0 1px 4px rgba(0,0,0,.12)}"
	"h1{font-size:1.35rem;margin:0 0 1rem}"
	"dl{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:1rem 0}"
	"dt{color:#555}dd{margin:0;font-weight:600;word-break:break-all}"
	".warn{background:#fff4e5;border-left:4px solid #e08a00;padding:.6rem .8rem}"
	".code{font-size:2.2rem;letter-spacing:.3rem;font-weight:700;text-align:center;"
	"font-family:ui-monospace,monospace;margin:1rem 0}"
	"form{display:flex;gap:.8rem;flex-wrap:wrap;margin-top:1.2rem}"
	"button{flex:1 1 12rem;font-size:1rem;padding:.8rem 1rem;border-radius:.4rem;"
	"border:2px solid #1b1d21;background:#fff;color:#1b1d21;cursor:pointer}";

static void head(struct buf *b, const char *title)
{
	puts_(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		 "<meta name=\"referrer\" content=\"no-referrer\">"
		 "<meta name=\"robots\" content=\"noindex, nofollow\"><title>");
	put_esc(b, title);
	puts_(b, "</title><style>");
	puts_(b, STYLE);
	puts_(b, "</style></head>\n<body><main>\n<h1>");
	put_esc(b, title);
	puts_(b, "</h1>\n");
}

static int finish(struct buf *b, char **out, size_t *len)
{
	puts_(b, "</main></body></html>\n");
	return buf_take(b, out, len) == ERR_OK ? ERR_OK : ERR_NOMEM;
}

int html_static(enum html_kind k, char **out, size_t *len)
{
	const char *title = "Error", *text = "Something went wrong.";
	struct buf b;

	page_init(&b);
	switch (k) {
	case HTML_NOT_FOUND:
		title = "Link not valid";
		text = "This sign-in link is not valid or has expired. If you still want to "
		       "sign in, start again at the computer you are signing in to.";
		break;
	case HTML_GONE:
		title = "Link no longer usable";
		text = "This sign-in link has already been used or the sign-in has ended. "
		       "If you still want to sign in, start again at the computer you are "
		       "signing in to.";
		break;
	case HTML_DENIED:
		title = "Login refused";
		text = "Login refused. You can close this page. If someone sent you this link "
		       "or asked you to sign in, tell your IT or security team.";
		break;
	case HTML_CB_DONE:
		title = "Signed in";
		text = "You can close this page and return to the computer you are signing "
		       "in to.";
		break;
	case HTML_CB_ERROR:
		title = "Sign-in not completed";
		text = "The sign-in was not completed. You can close this page.";
		break;
	case HTML_CB_USED:
		title = "Already used";
		text = "This sign-in response was already used. You can close this page. If "
		       "you did not expect this page, tell your IT or security team.";
		break;
	case HTML_BAD_REQUEST:
		title = "Bad request";
		text = "The request was malformed.";
		break;
	case HTML_FORBIDDEN:
		title = "Request refused";
		text = "This form is not valid. Open the sign-in link again.";
		break;
	case HTML_METHOD:
		title = "Method not allowed";
		text = "This method is not allowed here.";
		break;
	case HTML_TOO_LARGE:
		title = "Request too large";
		text = "The request was too large.";
		break;
	case HTML_MEDIA:
		title = "Unsupported media type";
		text = "The request body has the wrong type.";
		break;
	case HTML_INTERNAL:
		title = "Internal error";
		text = "The relay could not handle this request. Try again later.";
		break;
	case HTML_UNAVAILABLE:
		title = "Busy";
		text = "The relay is busy. Try again later.";
		break;
	}
	head(&b, title);
	puts_(&b, "<p>");
	put_esc(&b, text);
	puts_(&b, "</p>\n");
	return finish(&b, out, len);
}

static void put_duration(struct buf *b, uint64_t ms, int round_up)
{
	uint64_t s = (ms + (round_up ? 999 : 0)) / 1000;

	if (s >= 60)
		putf(b, "%llu min %llu s", (unsigned long long)(s / 60),
		     (unsigned long long)(s % 60));
	else
		putf(b, "%llu s", (unsigned long long)s);
}

int html_context_page(const struct store_link *l, const char *action_url, uint64_t now, char **out,
		      size_t *len)
{
	struct buf b;

	page_init(&b);
	head(&b, "Sign-in request");
	puts_(&b, "<p>Someone asked to sign in to a computer with your account. Continue only "
		  "if <strong>you</strong> started this sign-in yourself, just now, on this "
		  "computer:</p>\n<dl>\n<dt>Computer</dt><dd>");
	put_esc(&b, l->ctx.host);
	puts_(&b, "</dd>\n<dt>Account</dt><dd>");
	put_esc(&b, l->ctx.user);
	puts_(&b, "</dd>\n<dt>Service</dt><dd>");
	put_esc(&b, l->ctx.service);
	puts_(&b, "</dd>\n<dt>From</dt><dd>");
	if (l->ctx.rhost[0])
		put_esc(&b, l->ctx.rhost);
	else
		puts_(&b, "the computer itself (local login)");
	puts_(&b, "</dd>\n<dt>Requested</dt><dd>");
	put_duration(&b, now > l->created_ms ? now - l->created_ms : 0, 0);
	puts_(&b, " ago</dd>\n<dt>Link expires in</dt><dd>");
	put_duration(&b, l->expires_ms > now ? l->expires_ms - now : 0, 1);
	puts_(&b, "</dd>\n</dl>\n<p class=\"warn\">If someone sent you this link or asked you to "
		  "sign in or read out a code, choose <strong>This wasn't me</strong>.</p>\n"
		  "<form method=\"post\" action=\"");
	put_esc(&b, action_url);
	puts_(&b, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
	put_esc(&b, l->csrf);
	puts_(&b, "\">\n<button type=\"submit\" name=\"continue\" value=\"1\">Continue to sign "
		  "in</button>\n<button type=\"submit\" name=\"deny\" value=\"1\">This wasn't "
		  "me</button>\n</form>\n");
	return finish(&b, out, len);
}

int html_confirm_page(const char *confirm, char **out, size_t *len)
{
	struct buf b;

	page_init(&b);
	head(&b, "Signed in");
	puts_(&b, "<p>Type this confirmation code at the computer you are signing in to:</p>\n"
		  "<p class=\"code\">");
	put_esc(&b, confirm);
	puts_(&b, "</p>\n<p class=\"warn\">This code is shown only once. Never read it out or "
		  "send it to anyone: if someone asks you for it, they are trying to take over "
		  "your account.</p>\n");
	return finish(&b, out, len);
}
