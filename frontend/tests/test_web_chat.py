"""Two people of one organization chat in the browser; a third, of another
organization, sees none of it."""

from __future__ import annotations

import re
import secrets

from playwright.sync_api import expect

from tests.conftest import PHONE, screenshot, sign_in


def open_channel(page, name: str) -> None:
    page.get_by_role("option", name=re.compile(rf"^{re.escape(name)}\.")).click()
    expect(page.locator(".str-chat__channel-header__data__title")).to_have_text(name)


def send(page, text: str) -> None:
    """Send ``text`` in the open channel and wait until the service has it."""
    composer = page.locator(".str-chat__main-panel").get_by_placeholder("Send a message")
    composer.fill(text)
    composer.press("Enter")
    expect(message(page, text)).to_have_class(re.compile(r"str-chat__message--received"))


def message(page, text: str, scope: str = ".str-chat__main-panel"):
    return page.locator(scope).locator(".str-chat__message", has_text=text)


def test_two_colleagues_chat_in_real_time(open_page, site):
    mary = sign_in(open_page(), "mary@acme.test")
    max_ = sign_in(open_page(), "max@acme.test")
    for page in (mary, max_):
        open_channel(page, "General")
    # Both are watching: the header counts the other one online.
    expect(mary.locator(".str-chat__channel-header__data__subtitle")).to_contain_text("2 online")

    hello = f"Hello from Mary {secrets.token_hex(3)}"
    send(mary, hello)
    expect(message(max_, hello)).to_be_visible()  # no reload

    # Max replies in a thread; Mary sees the reply count and the reply.
    message(max_, hello).hover()
    message(max_, hello).get_by_role("button", name="Open Thread").click()
    thread = max_.locator(".str-chat__thread")
    reply = f"Thread reply from Max {secrets.token_hex(3)}"
    thread.get_by_placeholder(re.compile("Send a message|Reply")).fill(reply)
    thread.get_by_placeholder(re.compile("Send a message|Reply")).press("Enter")
    expect(message(max_, reply, ".str-chat__thread")).to_be_visible()
    replies = message(mary, hello).locator(".str-chat__message-replies-count-button")
    expect(replies).to_contain_text("1")
    replies.click()
    expect(message(mary, reply, ".str-chat__thread")).to_be_visible()

    # Max reacts to Mary's message; Mary sees the reaction.
    message(max_, hello).hover()
    message(max_, hello).get_by_role("button", name="Open Reaction Selector").click()
    max_.locator(".str-chat__reaction-selector").get_by_role(
        "button", name=re.compile("^Select Reaction")
    ).first.click()
    expect(message(mary, hello).locator(".str-chat__message-reactions")).to_be_visible()

    # Presence in the member list; mentions complete from the channel's members.
    mary.get_by_role("button", name="Members", exact=True).click()
    panel = mary.get_by_role("complementary", name="Members")
    expect(panel.get_by_role("listitem").filter(has_text="Max Member")).to_contain_text("Online")
    composer = mary.locator(".str-chat__main-panel").get_by_placeholder("Send a message")
    composer.fill("@Ma")
    expect(
        mary.locator(".str-chat__suggestion-list, .str-chat__text-composer-suggestions").first
    ).to_contain_text("Max Member")
    composer.fill("")

    screenshot(mary, "chat-desktop-mary")
    screenshot(max_, "chat-desktop-max")
    assert mary.errors == [] and max_.errors == []


def test_message_search_finds_messages_of_ones_channels_only(open_page, site):
    from stream_chat import StreamChat

    server = StreamChat(site.api_key, site.api_secret, base_url=site.url("/chat-api"))
    word = f"quokka{secrets.token_hex(3)}"
    for email, team in (("mary@acme.test", "acme"), ("greta@globex.test", "globex")):
        chat_user = site.session(email).get(site.url("/api/auth/me"), timeout=15).json()["chat_user_id"]
        [general] = server.query_channels({"team": team, "name": "General"})["channels"]
        server.channel("messaging", general["channel"]["id"]).send_message(
            {"text": f"{word} from {team}"}, user_id=chat_user
        )

    greta = sign_in(open_page(), "greta@globex.test")
    greta.get_by_label("Search").fill(word)
    results = greta.get_by_role("region", name="Search results").or_(
        greta.locator(".str-chat__search-results")
    )
    expect(results).to_contain_text(f"{word} from globex")
    expect(results).not_to_contain_text(f"{word} from acme")


def test_members_see_only_the_message_actions_their_channel_allows(open_page):
    mary = sign_in(open_page(), "mary@acme.test")
    open_channel(mary, "General")
    text = f"Pin me? {secrets.token_hex(3)}"
    send(mary, text)
    mine = message(mary, text)
    mine.hover()
    mine.get_by_role("button", name="Open Message Actions Menu").click()
    menu = mary.get_by_role("menu")
    expect(menu.get_by_role("menuitem", name=re.compile("Edit", re.I))).to_be_visible()
    # Members lack pin-message in the chat service: Pin is not offered.
    expect(menu.get_by_role("menuitem", name=re.compile("^Pin", re.I))).to_have_count(0)
    mary.keyboard.press("Escape")

    mike = sign_in(open_page(), "mike@acme.test")  # a tenant moderator may pin
    open_channel(mike, "General")
    theirs = message(mike, text)
    theirs.hover()
    theirs.get_by_role("button", name="Open Message Actions Menu").click()
    expect(mike.get_by_role("menu").get_by_role("menuitem", name=re.compile("^Pin", re.I))).to_be_visible()


def test_a_direct_conversation_appears_for_the_other_person_live(open_page):
    mike = sign_in(open_page(), "mike@acme.test")
    from_mary = mike.get_by_role("option", name=re.compile(r"^Mary Member\."))
    expect(from_mary).to_have_count(0)
    mary = sign_in(open_page(), "mary@acme.test")

    def start_with_mike() -> None:
        mary.get_by_role("button", name="New conversation").click()
        dialog = mary.get_by_role("dialog", name="New conversation")
        dialog.get_by_label("Find people").fill("mike")
        dialog.get_by_role("checkbox", name=re.compile("Mike Moderator")).check()
        dialog.get_by_role("button", name="Start conversation").click()
        expect(dialog).to_be_hidden()

    start_with_mike()
    # The kit names a conversation without a name after the other people in it.
    expect(mary.locator(".str-chat__channel-header__data__title")).to_have_text("Mike Moderator")
    text = f"Just us two {secrets.token_hex(3)}"
    send(mary, text)

    expect(from_mary).to_be_visible()  # appeared without a reload
    from_mary.click()
    expect(message(mike, text)).to_be_visible()

    # Starting it again with the same person opens the same conversation.
    open_channel(mary, "General")
    start_with_mike()
    expect(message(mary, text)).to_be_visible()
    expect(mary.get_by_role("option", name=re.compile(r"^Mike Moderator\."))).to_have_count(1)


def test_browse_and_join_a_public_channel(open_page, site):
    alice = site.session("alice@acme.test")
    name = f"Watercooler {secrets.token_hex(2)}"
    created = alice.post(site.url("/api/channels/"), json={"name": name, "visibility": "public"}, timeout=15)
    assert created.status_code == 201, created.text
    site.wait_synced()

    mary = sign_in(open_page(), "mary@acme.test")
    expect(mary.get_by_role("option", name=re.compile(rf"^{name}"))).to_have_count(0)
    mary.get_by_role("button", name="Browse channels").click()
    mary.get_by_role("dialog", name="Browse channels").get_by_role("button", name=f"Join {name}").click()
    expect(mary.locator(".str-chat__channel-header__data__title")).to_have_text(name)
    expect(mary.get_by_role("option", name=re.compile(rf"^{re.escape(name)}\."))).to_be_visible()


def test_a_user_of_another_organization_sees_none_of_it(open_page):
    greta = sign_in(open_page(), "greta@globex.test")
    expect(greta.get_by_role("listbox", name="Channel list")).to_be_visible()
    names = greta.get_by_role("option").all_inner_texts()
    assert names and not any(
        word in text for text in names for word in ("Mary", "Max", "Mike", "Watercooler")
    ), names
    # Nobody of acme in the directory.
    greta.get_by_role("button", name="New conversation").click()
    dialog = greta.get_by_role("dialog", name="New conversation")
    dialog.get_by_label("Find people").fill("acme")
    expect(dialog.get_by_text("Nobody matches.")).to_be_visible()
    dialog.get_by_label("Find people").fill("")
    expect(dialog.get_by_role("checkbox")).not_to_have_count(0)
    assert "acme.test" not in dialog.inner_text()


def test_the_phone_layout(open_page):
    mary = sign_in(open_page(viewport=PHONE), "mary@acme.test")
    sidebar = mary.get_by_role("complementary", name="Conversations")
    expect(sidebar).to_be_hidden()  # a drawer, closed
    mary.get_by_role("button", name="Conversations", exact=True).click()
    expect(sidebar).to_be_visible()
    open_channel(mary, "General")
    expect(sidebar).to_be_hidden()  # picking a conversation closes the drawer

    text = f"From my phone {secrets.token_hex(3)}"
    send(mary, text)
    expect(message(mary, text)).to_be_visible()
    # Phones get no hover buttons: the thread is in the message's menu.
    message(mary, text).click()
    message(mary, text).get_by_role("button", name="Open Message Actions Menu").click()
    mary.get_by_role("menu").get_by_role("menuitem", name="Open Thread").click()
    thread = mary.locator(".str-chat__thread")
    expect(thread).to_be_visible()
    box = thread.bounding_box()
    assert box is not None and box["width"] >= PHONE["width"] - 1  # the thread covers the screen
    screenshot(mary, "chat-phone-thread")

    overflow = mary.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    thread.get_by_role("button", name=re.compile("Close", re.I)).first.click()
    screenshot(mary, "chat-phone")
    assert mary.errors == []
