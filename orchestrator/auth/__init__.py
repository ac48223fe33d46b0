"""Who is signed in and what they may see: sessions, the guard, the access log, OpenID Connect and the
development sign-in. Both ``web`` and ``api`` use it; it uses neither."""
