import CreditDomain
import Foundation
import Testing
@testable import CreditData
import CreditTestSupport

/// The `credit` binary built next to this test bundle (`swift test` builds every product).
func creditBinary() throws -> String { try builtProduct("credit") }

@Suite struct CLITests {
    @Test func synthRestoreProfileOnASynthesizedBook() throws {
        let credit = try creditBinary()
        let dir = try TestPaths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let dump = dir.appendingPathComponent("book.sql").path
        let db = dir.appendingPathComponent("book.db").path

        let synth = try run(credit, ["synth", "--rows", "1500", "--seed", "3", "--out", "mysqldump:\(dump)"])
        #expect(synth.status == 0, "\(synth.stderr)")

        let restore = try run(credit, ["db", "restore", "--into", "sqlite:\(db)", dump])
        #expect(restore.status == 0, "\(restore.stderr)")
        for table in ["dados_mutuarios", "emprestimos", "historicos_banco", "ids"] {
            #expect(restore.stdout.contains("\(table): 1500 rows"), "\(restore.stdout)")
        }

        // Restoring twice is refused (documented), the database keeps its rows; --replace replaces.
        let again = try run(credit, ["db", "restore", "--into", "sqlite:\(db)", dump])
        #expect(again.status != 0)
        #expect(again.stderr.contains("\(dump):"))
        #expect(again.stderr.contains("already exists") && again.stderr.contains("--replace"), "\(again.stderr)")
        #expect(try sqlScalar(db, "SELECT COUNT(*) FROM ids") == 1500)
        let replaced = try run(credit, ["db", "restore", "--replace", "--into", "sqlite:\(db)", dump])
        #expect(replaced.status == 0, "\(replaced.stderr)")
        #expect(try sqlScalar(db, "SELECT COUNT(*) FROM ids") == 1500)

        // A truncated copy fails with file and line; the database is untouched.
        let text = try String(contentsOfFile: dump, encoding: .utf8)
        let cut = dir.appendingPathComponent("cut.sql").path
        try String(text.prefix(text.count * 2 / 3)).write(toFile: cut, atomically: true, encoding: .utf8)
        let before = try Data(contentsOf: URL(fileURLWithPath: db))
        let truncated = try run(credit, ["db", "restore", "--replace", "--into", "sqlite:\(db)", cut])
        #expect(truncated.status != 0)
        #expect(truncated.stderr.range(of: #"cut\.sql:\d+: "#, options: .regularExpression) != nil, "\(truncated.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == before)

        // Profile with the example spec; the JSON agrees with SQL on the restored book.
        let html = dir.appendingPathComponent("profile.html").path
        let json = dir.appendingPathComponent("profile.json").path
        let profile = try run(credit, ["profile", "--data", "sqlite:\(db)", "--spec", TestPaths.exampleSpec,
                                       "--out", html, "--json", json])
        #expect(profile.status == 0, "\(profile.stderr)")
        let p = try DataProfile.decode(json: try Data(contentsOf: URL(fileURLWithPath: json)))
        let q = try #require(try DatasetSpec.load(from: TestPaths.exampleSpec).query)
        #expect(p.rows == 1499)
        for column in p.columns {
            let c = "\"\(column.name)\""
            #expect(column.missing == (try sqlScalar(db, "SELECT COUNT(*) FROM (\(q)) WHERE \(c) IS NULL OR \(c) = ''")),
                    "\(column.name)")
        }
        let labelled = try sqlScalar(db, "SELECT COUNT(*) FROM (\(q)) WHERE loan_status IS NOT NULL")
        #expect(p.classBalance?.labelled == labelled)
        #expect(p.classBalance?.positives == (try sqlScalar(db, "SELECT COUNT(*) FROM (\(q)) WHERE loan_status = 1")))
        // The cleaning report shows typo corrections of the synthetic dirt.
        #expect((p.cleaning?.column("person_home_ownership")?.corrected ?? 0) > 0)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("<svg") && page.contains("Cleaning report"))
        #expect(!page.contains("http://") && !page.contains("https://")) // self-contained

        // --query @file and csv sources work too.
        let csv = dir.appendingPathComponent("book.csv").path
        #expect(try run(credit, ["synth", "--rows", "300", "--seed", "3", "--out", "csv:\(csv)"]).status == 0)
        let fromCSV = try run(credit, ["profile", "--data", "csv:\(csv)", "--spec", TestPaths.exampleSpec,
                                       "--out", html, "--json", json])
        #expect(fromCSV.status == 0, "\(fromCSV.stderr)")
        #expect(try DataProfile.decode(json: try Data(contentsOf: URL(fileURLWithPath: json))).rows == 299)
        let viaFile = try run(credit, ["profile", "--data", "sqlite:\(db)", "--query", "@" + TestPaths.exampleJoin,
                                       "--spec", TestPaths.exampleSpec, "--out", html, "--json", json])
        #expect(viaFile.status == 0, "\(viaFile.stderr)")
        #expect(try DataProfile.decode(json: try Data(contentsOf: URL(fileURLWithPath: json))).rows == 1499)
    }

    @Test func badArgumentsGiveClearErrors() throws {
        let credit = try creditBinary()
        let r = try run(credit, ["db", "restore", "--into", "postgres://x", "a.sql"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--into must be sqlite:PATH"))
        let s = try run(credit, ["synth", "--rows", "10", "--out", "parquet:x"])
        #expect(s.status != 0 && s.stderr.contains("--out must be"))
        let missing = try run(credit, ["db", "restore", "--into", "sqlite:/tmp/never-\(UUID().uuidString).db",
                                       "/nonexistent/dump.sql"])
        #expect(missing.status != 0 && missing.stderr.contains("/nonexistent/dump.sql:0: cannot open the file"))
    }
}

/// `credit profile` on the shared loan book, rendered by a real browser (headless Chromium).
@Suite struct ProfileBrowserTests {
    @Test func profilePageRendersChartsInChromium() throws {
        let credit = try creditBinary()
        let chromium = try #require(["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }, "chromium is not installed (scripts/install-deps.sh)")
        let db = try SharedDatabase.path()
        let dir = try TestPaths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let html = dir.appendingPathComponent("profile.html").path
        let profile = try run(credit, ["profile", "--data", "sqlite:\(db)", "--spec", TestPaths.exampleSpec,
                                       "--out", html])
        #expect(profile.status == 0, "\(profile.stderr)")
        #expect(profile.stdout.contains("labelled 34142, defaults 7449"))

        let png = dir.appendingPathComponent("shot.png").path
        let common = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                      "--user-data-dir=\(dir.appendingPathComponent("chrome").path)"]
        let shot = try run(chromium, common + ["--screenshot=\(png)", "--window-size=1400,2400",
                                               URL(fileURLWithPath: html).absoluteString])
        #expect(shot.status == 0, "\(shot.stderr)")
        let image = try Data(contentsOf: URL(fileURLWithPath: png))
        #expect(image.starts(with: [0x89, 0x50, 0x4E, 0x47])) // PNG signature
        #expect(image.count > 60_000, "a blank page compresses to a few KB; charts do not (\(image.count) bytes)")

        // The DOM as the browser built it: the charts' bars are there, inside svg elements.
        let dom = try run(chromium, common + ["--dump-dom", URL(fileURLWithPath: html).absoluteString])
        #expect(dom.status == 0)
        #expect(dom.stdout.contains("<svg"))
        let rects = dom.stdout.components(separatedBy: "<rect").count - 1
        #expect(rects > 150, "rendered rect elements: \(rects)")
        #expect(dom.stdout.contains("id=\"class-balance\"") && dom.stdout.contains("id=\"cleaning\""))
        #expect(dom.stdout.contains("21.8%"))
    }
}
