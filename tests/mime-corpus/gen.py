#!/usr/bin/python3
"""Writes the MIME test corpus (*.eml) beside this script.

Each message is written with CRLF line ends unless its name says "lf".
The expected ENVELOPE/BODY/BODYSTRUCTURE are in NAME.envelope, NAME.body
and NAME.bodystructure, checked by hand against RFC 9051 section 7.5.2
(tests/unit/test_mime.c compares them). Run: /usr/bin/python3 gen.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

M = {}

M["simple"] = """\
Return-Path: <alice@example.org>
From: "Alice Example" <alice@example.org>
To: Bob <bob@example.com>, carol@example.net
Cc: "Doe, John" <john.doe@example.com>
Subject: Lunch
 on Friday?
Date: Mon, 7 Feb 1994 21:52:25 -0800
Message-ID: <B27397-0100000@example.org>
In-Reply-To: <prev@example.com>
MIME-Version: 1.0

Hello Bob,
see you there.
"""

M["alternative"] = """\
From: alice@example.org
To: bob@example.com
Subject: alt
Date: Tue, 1 Mar 2022 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="=_alt"

This is a multi-part message in MIME format.
--=_alt
Content-Type: text/plain; charset=utf-8; format=flowed
Content-Transfer-Encoding: quoted-printable

Gr=C3=BC=C3=9Fe
--=_alt
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<p>Gr=C3=BC=C3=9Fe</p>
--=_alt--
"""

M["nested"] = """\
From: alice@example.org
To: bob@example.com
Subject: report
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain

plain text
--inner
Content-Type: text/html

<b>html</b>
--inner--

--outer
Content-Type: application/pdf; name=report.pdf
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename=report.pdf

JVBERi0xLjQK
--outer--
"""

M["rfc822-in-multipart"] = """\
From: alice@example.org
To: bob@example.com
Subject: Fwd: photo
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

See the forwarded message.
--b1
Content-Type: message/rfc822
Content-Description: forwarded

From: Carol <carol@example.net>
To: alice@example.org
Subject: photo
Date: Wed, 2 Mar 2022 08:00:00 +0100
Message-ID: <photo@example.net>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b2"

--b2
Content-Type: text/plain

Here it is.
--b2
Content-Type: image/png
Content-Transfer-Encoding: base64
Content-Disposition: inline; filename="dot.png"

iVBORw0KGgo=
--b2--
--b1--
"""

M["rfc2231"] = """\
From: alice@example.org
To: bob@example.com
Subject: attachments
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=XX

--XX
Content-Type: application/octet-stream
Content-Disposition: attachment; filename*=utf-8''%E2%82%AC%20rates.txt

1
--XX
Content-Type: application/octet-stream;
 name*0*=iso-8859-1'de'Gr%FC;
 name*1*=%DFe.txt
Content-Disposition: attachment;
 filename*0="a very long ";
 filename*1="file name.txt"

2
--XX
Content-Type: text/plain; name="=?utf-8?q?caf=C3=A9?=.txt"
Content-Language: de-CH
Content-Location: file.txt

3
--XX--
"""

M["nonascii-headers"] = """\
From: =?iso-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.de>
To: =?koi8-r?B?8NLJ18XU?= <privet@example.ru>
Subject: =?utf-8?B?w6ljb2xlIMOpdMOp?= =?utf-8?q?_caf=C3=A9?=
Date: Thu, 3 Mar 2022 12:00:00 +0900
Cc: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?= <jp@example.jp>
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: 8bit

body
"""

M["malformed-boundary"] = """\
From: alice@example.org
Subject: wrong boundary
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="declared"

--used
Content-Type: text/plain

text
--used--
"""

M["missing-final-boundary"] = """\
From: alice@example.org
Subject: truncated
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

first
--b
Content-Type: text/plain

second, and the message ends here
"""

M["bare-lf"] = """\
From: alice@example.org
Subject: bare LF
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="lf"

--lf
Content-Type: text/plain

line one
line two
--lf
Content-Type: text/plain; charset=utf-8

x
--lf--
"""

M["header-only"] = """\
From: alice@example.org
Subject: no body at all"""

M["empty-body"] = """\
From: alice@example.org
To: bob@example.com
Subject: empty

"""

M["8bit-headers"] = """\
From: Jörg Müller <joerg@example.de>
To: bob@example.com
Subject: Grüße aus Köln
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Grüße
"""

M["digest"] = """\
From: list@example.org
To: bob@example.com
Subject: digest
MIME-Version: 1.0
Content-Type: multipart/digest; boundary="d"

--d

From: one@example.org
Subject: first

one
--d

From: two@example.org
Subject: second

two
--d
Content-Type: text/plain

not a message
--d--
"""

M["groups"] = """\
From: alice@example.org (Alice in comment)
Sender: <@relay.example,@other.example:alice@example.org>
Reply-To:
To: undisclosed-recipients:;
Cc: Team: bob@example.com, "Carol C." <carol@example.net>;, dave
Bcc: "quoted local"@example.com
Subject: groups
"""

M["multipart-no-boundary"] = """\
From: alice@example.org
Subject: no boundary parameter
MIME-Version: 1.0
Content-Type: multipart/mixed

just text
"""

M["extension-fields"] = """\
From: alice@example.org
Subject: every extension field
MIME-Version: 1.0
Content-Type: multipart/related; boundary="rel"; type="text/html"
Content-Disposition: inline
Content-Language: en

preamble
--rel
Content-Type: text/x-custom; charset=us-ascii; q="say \\"hi\\""
Content-ID: <part1@example.org>
Content-Description: custom part
Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==
Content-Disposition: inline; size=5
Content-Language: en, fr ,de
Content-Location: http://example.org/p1
Content-Transfer-Encoding: ?bogus

hello
--rel--
epilogue
"""


def main():
    for name, text in M.items():
        data = text.encode("utf-8")
        if "lf" not in name.split("-"):
            data = data.replace(b"\n", b"\r\n")
        with open(os.path.join(HERE, name + ".eml"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
