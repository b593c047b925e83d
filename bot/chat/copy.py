"""What the assistant says, in one place, so TA staff can review the wording."""

HELP = """I answer questions about serving survivors, confidentiality, shelter, grants, standards \
and coalition work, from the coalition's knowledge base. Just type your question.

Commands:
  help            this message
  topics          browse the knowledge base by category
  status          your questions waiting for TA staff
  /staff QUESTION send a question straight to TA staff

After a reply of mine: a number picks one of the choices I offered, 'yes' or 'no' says whether \
an answer helped, and 'staff' sends the question you just asked to TA staff.

Answers are general guidance, not legal advice. Please leave out names and other details that \
could identify a survivor."""

STAFF_HELP = """Staff commands:
  /queue                   questions waiting for staff, oldest first
  /show TA-0042            one question with its history and internal notes
  /claim TA-0042           take it
  /answer TA-0042 TEXT     answer it; the answer goes back to the asker where they asked
  /entry TA-0042 ENTRY-ID  answer it with that entry's answer (the question is learned)
  /note TA-0042 TEXT       an internal note, never shown to the asker
  /close TA-0042, /reopen TA-0042
  /console                 a one-time sign-in link for the web console (in a direct message)"""

DISCLAIMER = "General guidance, not legal advice; check your state's law and your program's policy."
REDACTION_NOTICE = (
    "I removed identifying details ({kinds}) from your message before saving it. Survivor "
    "information stays with your program, so there's no need to include it."
)
STORAGE_DOWN = (
    "I couldn't pass your question to TA staff just now: neither the database nor this "
    "server's disk would take it, so it was not saved. Please try again in a few minutes, or "
    "contact the coalition's TA staff directly."
)
SPOOLED = (
    "I can't reach the staff queue just now, so I've saved your question here and will pass "
    "it to the coalition's TA staff as soon as I can. You'll get a message with its reference "
    "then; there's no need to send it again."
)
SPOOL_FILED = ("The question you sent while I couldn't reach the staff queue is now with the "
               "coalition's TA staff. Your reference is {reference}; they'll answer "
               "{response_time}.")
LOOKUP_DOWN = "I can't look up your questions right now; please try again in a few minutes."
CRISIS_FIRST = ("If you or someone with you is in danger right now, please call 911. I'm an "
                "automated assistant for advocates and can't give crisis support, but these "
                "services can, 24 hours a day, confidentially:\n")
CRISIS_STAFF_SPOOLED = ("I've also saved this for the coalition's staff, marked urgent; it "
                        "reaches them as soon as I can connect to their queue.")
CRISIS_ADDED = "If someone is in danger now, these services can help at any hour:\n"
CRISIS_STAFF_TOLD = ("I've also told the coalition's staff, marked urgent "
                     "(reference {reference}).")
RATE_LIMITED = ("You're sending messages faster than I can help ({limit} a minute). Please wait "
                "a minute and ask again; if this is urgent, use /staff or call your coalition.")
SMALL_TALK = ("Hello! I'm the coalition's TA assistant. Ask me a question about your work, e.g. "
              "'how do we respond to a subpoena?', or type 'help'.")
WELCOME = "You're welcome. Ask me again any time."
TOO_LONG = ("That message is {length:,} characters long; I can take up to {limit:,}. Please ask "
            "a shorter question.")
NO_WORDS = ("I didn't find a question in that. Type your question in words, or 'help' to see "
            "what I can do.")
STAFF_USAGE = ("Type /staff followed by your question, e.g. "
               "'/staff how do we handle a records request from a court?'")
REFERENCE_USAGE = "Type /{command} followed by a reference, e.g. /{command} TA-0042."
ENTRY_GONE = "That entry is no longer in the knowledge base. Please ask again."
CATEGORY_GONE = "That category is no longer in the knowledge base; type 'topics' to see them."
HELPED = "Thanks, glad it helped."
SENT_LATE = ("Sorry this comes late: it could not be sent when you asked. If you have asked "
             "something since, this is the reply to the earlier message.")
ESCALATED = {
    "no-match": "I don't have a good answer to that in the knowledge base, so I've sent your "
                "question to the coalition's TA staff.",
    "state-law": "Because the answer depends on your state's law, I've also sent your question "
                 "to TA staff.",
}
ALREADY_WITH_STAFF = ("This question is already with the coalition's TA staff ({reference}); "
                      "their reply will come back to you here.")
ESCALATED_DEFAULT = "I've sent your question to the coalition's TA staff."
ESCALATED_TAIL = (" Your reference is {reference}. Expect a reply {response_time}; it will come "
                  "back to you here.")
OFF_TOPIC = (
    "That looks outside what I can help with, so I haven't sent it to anyone. I answer "
    "advocates' questions about serving survivors of domestic and sexual violence: "
    "confidentiality, shelter, safety planning, grants, standards and coalition work. If you "
    "think TA staff should see it anyway, I can send it to them."
)
NOT_SENT = ("OK, I haven't sent it. Ask again in other words whenever you like, or type "
            "'topics' to browse what I know.")
NOTHING_OPEN = ("I haven't asked you anything just now, so there's nothing to say yes or no "
                "to (I remember my questions for a few minutes). Type your question, or "
                "'topics' to browse what I know.")
NO_CHOICES = ("There are no numbered choices open just now (I remember them for a few "
              "minutes). Type your question, or 'topics' to browse what I know.")
CHOOSE_HINT = ("Type a number from 1 to {count} to pick one, 'none' if none of them fit, or "
               "'staff' to send your question to TA staff.")
RELATED_HINT = ("Type a number from 1 to {count} for a related topic, 'yes' or 'no' to say "
                "whether the answer helped, or ask something new.")
NOT_YOUR_QUESTION = ("That button belongs to someone else's question, so I haven't sent "
                     "anything. To ask TA staff yourself, type /staff and your question.")
ALREADY_SENT = ("Your question is already with TA staff (reference {reference}), so there's "
                "no need to send it again; type 'status' to see where it stands.")
CONSOLE_ONLY_STAFF = ("The web console is for the coalition's TA staff. If you are staff, ask "
                      "the coalition's admin to add {actor} to TABOT_STAFF.")
CONSOLE_ONLY_PRIVATE = ("I only send sign-in links in a direct message, never where others can "
                        "read them. Send /console to me directly (in Slack: /ta console, or "
                        "the button on my Home tab).")
STAFF_ONLY_PRIVATE = ("Staff commands work only in a direct message with me, never where others "
                      "can read a question's details or notes. Send it to me directly (in "
                      "Slack: a direct message, not a thread, or /ta).")
OWN_ONLY_PRIVATE = ("I only list or show your questions in a direct message with me, never "
                    "where others can read them. Send it to me directly (in Slack: a direct "
                    "message, not a thread, or /ta).")
CONSOLE_NOT_SET_UP = ("I can't make a sign-in link: TABOT_PUBLIC_URL is not set correctly. Ask "
                      "the coalition's admin to check it (the log says what is wrong).")
CONSOLE_DOWN = ("I can't make a sign-in link just now: the database is not reachable. Please "
                "try again in a few minutes.")
