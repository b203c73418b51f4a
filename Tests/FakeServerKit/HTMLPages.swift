/// HTML that stands where an API answer should be.
package enum HTMLPages {
    package static let contentType = "text/html; charset=UTF-8"

    /// What a captive portal or a misconfigured proxy serves with 200 in place of the API's
    /// answer: a sign-in page.
    package static let signIn = """
        <!DOCTYPE html>
        <html>
        <head><meta charset="utf-8"><title>Sign in to the network</title></head>
        <body>
        <h1>Welcome to Guest Wi-Fi</h1>
        <p>Please accept the terms of use to continue browsing.</p>
        <form method="post" action="/login"><button type="submit">Accept and connect</button></form>
        </body>
        </html>

        """
}
