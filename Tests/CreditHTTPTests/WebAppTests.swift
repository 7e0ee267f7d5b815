import Foundation
import Testing

/// The analyst page in a real browser: Playwright (Python, from scripts/install-deps.sh's
/// venv) driving Debian's chromium against the HTTP face. Screenshots go to
/// $TMPDIR/credit-web-<pid>/ (printed), to be looked at.
@Suite(.serialized) struct WebAppTests {
    static var python: String {
        ProcessInfo.processInfo.environment["CREDIT_PYTHON"] ?? NSHomeDirectory() + "/.local/share/credit-risk/venv/bin/python"
    }

    @Test func formScoresAnApplicantAndDrawsTheReasons() async throws {
        let faces = try await Faces()
        defer { Task { await faces.stop() } }
        let shots = WebPagesTests.shots
        let script = WebPagesTests.prelude + #"""
import json, urllib.request  # one line: a Python import list
applicant = {"person_age": 31, "person_income": 41000, "person_emp_length": 2, "loan_amnt": 15000,
             "loan_int_rate": 16.5, "loan_percent_income": 0.37, "cb_person_cred_hist_length": 3,
             "person_home_ownership": "Rent", "loan_intent": "Medical", "loan_grade": "D", "cb_person_default_on_file": "Y"}
response = page.goto(base + "/")
print("csp", "script-src 'self'" in (response.headers.get("content-security-policy") or ""))
page.wait_for_selector("#field-person_home_ownership option >> nth=2", state="attached")
print("fields", page.locator("#fields label").count())
page.fill("#field-id", "<script>alert(1)</script>")
for name, value in applicant.items():
    if isinstance(value, str):
        page.select_option("#field-" + name, value)
    else:
        page.fill("#field-" + name, str(value))
page.click("#score")
page.wait_for_selector("#result:not([hidden])")
page.wait_for_function("document.getElementById('decision').textContent.length > 0")
print("decision", page.text_content("#decision"))
print("probability", page.text_content("#probability"))
print("bars", page.locator("#reasons rect.reason-bar").count())
page.screenshot(path=shots + "/score.png", full_page=True)
direct = json.load(urllib.request.urlopen(urllib.request.Request(base + "/v1/score", data=json.dumps(applicant).encode(),
                                                                 headers={"Content-Type": "application/json"})))
print("direct", direct["decision"], "%.4f" % direct["probability_default"], len(direct["reasons"]))
print("errors", errors)
browser.close()
p.stop()
"""#
        let lines = try await WebPagesTests.browse(script, ["http://127.0.0.1:\(faces.port)", shots])
        let text = lines.map { "\($0.key) \($0.value)" }.joined(separator: "\n")
        #expect(lines["csp"] == "True")
        #expect(lines["fields"] == "11", "\(text)")
        let direct = (lines["direct"] ?? "").split(separator: " ").map(String.init)
        #expect(direct.count == 3, "\(text)")
        if direct.count == 3 {
            #expect(lines["decision"] == direct[0], "\(text)")
            #expect(lines["probability"] == direct[1], "\(text)")
            #expect(lines["bars"] == direct[2], "\(text)")
        }
        #expect(lines["errors"] == "[]", "\(text)")
        print("WebAppTests: screenshot \(shots)/score.png")
    }
}
