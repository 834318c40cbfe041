"""The whole onboarding flow in a real browser (headless Chromium): platform staff
onboard an organization in the console, and its first admin sets a password
through the link and signs in."""

from __future__ import annotations

import os
import shutil

import pytest
import requests

from accounts.models import User
from accounts.tests.factories import UserFactory
from tenants.models import Tenant

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

# CI sets REQUIRE_BROWSER=1 so that a missing browser fails the run instead of skipping.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER) and not os.environ.get("REQUIRE_BROWSER"),
        reason="Chromium and chromedriver are not installed",
    ),
]

PASSWORD = "milton-wants-his-stapler"


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(15)
    yield driver
    driver.quit()


@pytest.fixture
def staff(transactional_db):
    user = UserFactory(tenant=None, is_staff=True, email="staff@platform.test", password=PASSWORD)
    user.is_superuser = True
    user.save()
    return user


def _fill(browser, field: str, value: str) -> None:
    from selenium.webdriver.common.by import By

    element = browser.find_element(By.NAME, field)
    element.clear()
    element.send_keys(value)


def _wait_until(browser, condition, message: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 15).until(condition, message)


def _wait_for_text(browser, text: str) -> None:
    """Wait until the page shows ``text`` (a click starts a navigation; reading the
    page at once may still see the old one)."""
    _wait_until(browser, lambda b: text in b.page_source, f"never saw {text!r}")


def test_onboarding_flow_in_a_browser(browser, live_server, staff, settings):
    from selenium.webdriver.common.by import By

    settings.SITE_URL = live_server.url
    UserFactory(tenant=None, is_staff=True, email="taken@initech.test")  # to provoke one validation error

    browser.get(f"{live_server.url}/admin/login/")
    _fill(browser, "username", staff.email)
    _fill(browser, "password", PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    # Let the login land before navigating on: a new page load would cancel it.
    _wait_until(browser, lambda b: "/admin/login/" not in b.current_url, "the login never landed")
    browser.get(f"{live_server.url}/admin/tenants/tenant/")
    browser.find_element(By.ID, "onboard-link").click()

    _fill(browser, "name", "Initech")
    _fill(browser, "admin_email", "taken@initech.test")
    _fill(browser, "admin_name", "Bill Lumbergh")
    _fill(browser, "channels", "General, TPS Reports")
    browser.find_element(By.NAME, "_onboard").click()
    _wait_for_text(browser, "This email address cannot be used for a new account.")
    assert not Tenant.objects.filter(slug="initech").exists()

    _fill(browser, "admin_email", "bill@initech.test")
    browser.find_element(By.NAME, "_onboard").click()
    link = browser.find_element(By.ID, "admin-link").get_attribute("href")
    assert "/invite/" in link
    page = browser.page_source
    assert "bill@initech.test" in page and "#tps-reports" in page and "pending" in page

    browser.delete_all_cookies()
    browser.get(link)
    _wait_for_text(browser, "Set your password")
    _fill(browser, "password", "hunter2")
    _fill(browser, "password_again", "hunter2")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    _wait_for_text(browser, "too short")
    _fill(browser, "password", PASSWORD)
    _fill(browser, "password_again", PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert browser.find_element(By.ID, "done").is_displayed()
    assert browser.find_element(By.ID, "sign-in").get_attribute("href") == f"{live_server.url}/login"

    admin = User.objects.get(email="bill@initech.test")
    assert admin.check_password(PASSWORD) and admin.role == "admin"
    response = requests.post(
        f"{live_server.url}/api/auth/login",
        json={"email": "bill@initech.test", "password": PASSWORD},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["user"]["tenant_slug"] == "initech"
