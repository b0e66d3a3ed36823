//! The report as files a CPA keeps: HTML (the memo, every figure with its formula and inputs down to the
//! accounts, the review), XLSX (the same figures as a workbook: exact values, formulas, inputs) and PDF. Every
//! value comes from the analysis's computed figures; nothing is recomputed here.

use finops_core::Analysis;
use finops_core::store::{Review, ReviewStatus};

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The report's Markdown as HTML. A model wrote the text (and the books it read may carry injected
/// instructions): raw HTML in it is shown as text, links keep their words but lose their targets, and images
/// are dropped, so nothing in a report can run, navigate or fetch.
pub fn markdown(report: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let mut in_image = 0usize;
    let events = Parser::new_ext(report, Options::ENABLE_TABLES).filter_map(move |e| match e {
        Event::Start(Tag::Image { .. }) => {
            in_image += 1;
            None
        }
        Event::End(TagEnd::Image) => {
            in_image = in_image.saturating_sub(1);
            None
        }
        _ if in_image > 0 => None,
        Event::Start(Tag::Link { .. }) | Event::End(TagEnd::Link) => None,
        Event::Html(h) | Event::InlineHtml(h) => Some(Event::Text(h)),
        other => Some(other),
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// A figure's value as the report's language writes it (empty when not computable).
pub fn figure_value(analysis: &Analysis, figure: &finops_core::Figure) -> String {
    match figure.value {
        Some(v) => analysis
            .language
            .value(v, figure.unit, "")
            .trim()
            .to_string(),
        None => String::new(),
    }
}

fn inputs_text(figure: &finops_core::Figure) -> String {
    figure
        .inputs
        .iter()
        .map(|i| {
            let accounts = i
                .accounts
                .as_deref()
                .map(|a| {
                    let list: Vec<String> = a
                        .iter()
                        .map(|x| format!("{} {} {}", x.account, x.name, x.amount))
                        .collect();
                    format!(" [{}]", list.join("; "))
                })
                .unwrap_or_default();
            format!("{}@{} = {}{accounts}", i.line, i.period, i.value)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn review_line(analysis: &Analysis, review: &Review) -> String {
    let fr = analysis.language == finops_core::Language::Fr;
    match (review.status, &review.signed_off_by, &review.signed_off_at) {
        (ReviewStatus::SignedOff, Some(by), Some(at)) => {
            let who = by.sub.as_deref().unwrap_or("CPA");
            if fr {
                format!("Approuvé par {who} le {at}")
            } else {
                format!("Signed off by {who} on {at}")
            }
        }
        (ReviewStatus::Reviewed, _, _) => (if fr {
            "Révisé, non approuvé"
        } else {
            "Reviewed, not signed off"
        })
        .into(),
        _ => (if fr {
            "Brouillon, non révisé"
        } else {
            "Draft, not reviewed"
        })
        .into(),
    }
}

/// A self-contained HTML page.
pub fn html(analysis: &Analysis, review: &Review) -> String {
    let fr = analysis.language == finops_core::Language::Fr;
    let (title, figures_title, metric, period, value, formula, inputs) = if fr {
        (
            "Analyse financière",
            "Indicateurs calculés",
            "Indicateur",
            "Période",
            "Valeur",
            "Formule",
            "Données",
        )
    } else {
        (
            "Financial analysis",
            "Computed figures",
            "Metric",
            "Period",
            "Value",
            "Formula",
            "Inputs",
        )
    };
    let mut rows = String::new();
    for f in &analysis.figures {
        rows.push_str(&format!(
            "<tr id=\"{id}\"><td>{metric}</td><td>{period}</td><td class=\"num\">{value}</td><td><code>{formula}</code></td><td><pre>{inputs}</pre>{reason}</td></tr>\n",
            id = escape(&f.id),
            metric = escape(f.metric.id()),
            period = escape(&f.period),
            value = escape(&figure_value(analysis, f)),
            formula = escape(&f.formula),
            inputs = escape(&inputs_text(f)),
            reason = f.reason.as_deref().map(|r| format!("<em>{}</em>", escape(r))).unwrap_or_default(),
        ));
    }
    let notes: String = review
        .notes
        .iter()
        .map(|n| {
            format!(
                "<li>{} — {}: {}</li>",
                escape(&n.at),
                escape(n.by.sub.as_deref().unwrap_or("CPA")),
                escape(&n.text)
            )
        })
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{title} — {client}</title>\
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2733}}\
table{{border-collapse:collapse;width:100%;font-size:.9rem}}td,th{{border:1px solid #ccd;padding:.3rem;vertical-align:top}}\
.num{{text-align:right;white-space:nowrap}}pre{{margin:0;white-space:pre-wrap;font-size:.8rem}}</style></head><body>\
<h1>{title} — {client}</h1><p><strong>{q_label}</strong> {question}</p><p class=\"review\">{review}</p>\
<ul>{notes}</ul><article>{report}</article><h2>{figures_title}</h2><table><thead><tr><th>{metric}</th><th>{period}</th>\
<th>{value}</th><th>{formula}</th><th>{inputs}</th></tr></thead><tbody>\n{rows}</tbody></table>\
<p><small>finops {id} · {source} · grounded: {grounded}</small></p></body></html>\n",
        lang = analysis.language.id(),
        client = escape(&analysis.client),
        q_label = if fr { "Question :" } else { "Question:" },
        question = escape(&analysis.question),
        review = escape(&review_line(analysis, review)),
        report = markdown(&analysis.report),
        id = escape(&analysis.id),
        source = crate::api::label_of(&analysis.report_source),
        grounded = analysis.validation.grounded,
    )
}

/// A workbook: "Figures" (metric, period, exact value as text and as a number, unit, formula, inputs) and
/// "Inputs" (one row per input amount and account), and "Report" (the memo's lines).
pub fn xlsx(analysis: &Analysis) -> finops_core::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let fail = |e: rust_xlsxwriter::XlsxError| {
        finops_core::Error::Internal(format!("writing the workbook: {e}"))
    };
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = book.add_worksheet().set_name("Figures").map_err(fail)?;
    for (col, title) in [
        "id",
        "metric",
        "period",
        "value",
        "value (exact)",
        "unit",
        "formula",
        "inputs",
        "reason",
    ]
    .iter()
    .enumerate()
    {
        sheet
            .write_with_format(0, col as u16, *title, &bold)
            .map_err(fail)?;
    }
    for (i, f) in analysis.figures.iter().enumerate() {
        let row = i as u32 + 1;
        sheet.write(row, 0, f.id.as_str()).map_err(fail)?;
        sheet.write(row, 1, f.metric.id()).map_err(fail)?;
        sheet.write(row, 2, &*f.period).map_err(fail)?;
        if let Some(v) = f.value {
            // The nearest float for charts and sums; the exact decimal beside it as text.
            if let Ok(x) = f64::try_from(v) {
                sheet.write(row, 3, x).map_err(fail)?;
            }
            sheet.write(row, 4, v.to_string()).map_err(fail)?;
        }
        sheet.write(row, 5, f.unit.id()).map_err(fail)?;
        sheet.write(row, 6, &*f.formula).map_err(fail)?;
        sheet.write(row, 7, inputs_text(f)).map_err(fail)?;
        if let Some(r) = &f.reason {
            sheet.write(row, 8, r.as_str()).map_err(fail)?;
        }
    }
    sheet.set_column_width(0, 28).map_err(fail)?;
    sheet.set_column_width(6, 40).map_err(fail)?;
    let inputs = book.add_worksheet().set_name("Inputs").map_err(fail)?;
    for (col, title) in [
        "figure",
        "line",
        "period",
        "amount",
        "account",
        "account name",
        "account amount",
    ]
    .iter()
    .enumerate()
    {
        inputs
            .write_with_format(0, col as u16, *title, &bold)
            .map_err(fail)?;
    }
    let mut row = 1u32;
    for f in &analysis.figures {
        for input in &f.inputs {
            let accounts: Vec<_> = input
                .accounts
                .as_deref()
                .map(|a| a.to_vec())
                .unwrap_or_default();
            let lines = accounts.len().max(1);
            for k in 0..lines {
                inputs.write(row, 0, f.id.as_str()).map_err(fail)?;
                inputs.write(row, 1, &*input.line).map_err(fail)?;
                inputs.write(row, 2, &*input.period).map_err(fail)?;
                inputs
                    .write(row, 3, input.value.to_string())
                    .map_err(fail)?;
                if let Some(a) = accounts.get(k) {
                    inputs.write(row, 4, a.account.as_str()).map_err(fail)?;
                    inputs.write(row, 5, a.name.as_str()).map_err(fail)?;
                    inputs.write(row, 6, a.amount.to_string()).map_err(fail)?;
                }
                row += 1;
            }
        }
    }
    let report = book.add_worksheet().set_name("Report").map_err(fail)?;
    for (i, line) in analysis.report.lines().enumerate() {
        report.write(i as u32, 0, line).map_err(fail)?;
    }
    book.save_to_buffer().map_err(fail)
}

const FONT: &[u8] = include_bytes!("static/fonts/DejaVuSans.ttf");

/// Splits text into lines of at most `width` characters, at spaces where it can.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split(' ') {
            let needed =
                line.chars().count() + word.chars().count() + usize::from(!line.is_empty());
            if needed > width && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let mut word = word.to_string();
            while word.chars().count() > width {
                let head: String = word.chars().take(width).collect();
                word = word.chars().skip(width).collect();
                lines.push(head);
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        lines.push(line);
    }
    lines
}

/// An A4 PDF: the review line, the memo, then the figures (value, formula, inputs).
pub fn pdf(analysis: &Analysis, review: &Review) -> finops_core::Result<Vec<u8>> {
    use krilla::Document;
    use krilla::geom::Point;
    use krilla::page::PageSettings;
    use krilla::text::{Font, TextDirection};
    let font = Font::new(FONT.to_vec().into(), 0)
        .ok_or_else(|| finops_core::Error::Internal("the PDF font does not load".into()))?;
    let fr = analysis.language == finops_core::Language::Fr;
    let mut lines: Vec<(f32, String)> = vec![
        (
            16.0,
            format!(
                "{} — {}",
                if fr {
                    "Analyse financière"
                } else {
                    "Financial analysis"
                },
                analysis.client
            ),
        ),
        (
            10.0,
            format!(
                "Question{} {}",
                if fr { " :" } else { ":" },
                analysis.question
            ),
        ),
        (10.0, review_line(analysis, review)),
        (10.0, String::new()),
    ];
    for l in wrap(&analysis.report.replace(['#', '*'], ""), 95) {
        lines.push((10.0, l));
    }
    lines.push((10.0, String::new()));
    lines.push((
        13.0,
        (if fr {
            "Indicateurs calculés"
        } else {
            "Computed figures"
        })
        .into(),
    ));
    for f in &analysis.figures {
        let head = format!(
            "{} {} = {}   ({})",
            f.metric.id(),
            f.period,
            figure_value(analysis, f),
            f.formula
        );
        for l in wrap(&head, 95) {
            lines.push((9.0, l));
        }
        for l in wrap(&inputs_text(f), 100) {
            lines.push((8.0, format!("    {l}")));
        }
    }
    let (width, height, margin) = (595.0f32, 842.0f32, 50.0f32);
    let mut document = Document::new();
    let mut rest = lines.as_slice();
    while !rest.is_empty() {
        let settings = PageSettings::from_wh(width, height)
            .ok_or_else(|| finops_core::Error::Internal("page size".into()))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        let mut y = margin;
        let mut used = 0;
        for (size, text) in rest {
            let step = size * 1.45;
            if y + step > height - margin {
                break;
            }
            y += step;
            surface.draw_text(
                Point::from_xy(margin, y),
                font.clone(),
                *size,
                text,
                false,
                TextDirection::Auto,
            );
            used += 1;
        }
        surface.finish();
        page.finish();
        rest = &rest[used.max(1).min(rest.len())..];
    }
    document
        .finish()
        .map_err(|e| finops_core::Error::Internal(format!("writing the PDF: {e:?}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_report_cannot_carry_markup_links_or_images() {
        let hostile = "# Marges\n\n<script>alert(1)</script> <img src=x onerror=alert(2)>\n\n\
                       [cliquez](javascript:alert(3)) ![x](https://evil.example/t.png) <a href=\"//evil\">a</a>\n\n\
                       | a | b |\n|---|---|\n| 1 | 2 |\n";
        let html = markdown(hostile);
        assert!(html.contains("<h1>Marges</h1>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("cliquez"));
        assert!(html.contains("<table>"));
        for banned in [
            "<script",
            "<img",
            "<a ",
            "javascript:",
            "evil.example",
            "onerror=alert(2)>",
        ] {
            assert!(!html.contains(banned), "{banned} in {html}");
        }
    }

    #[test]
    fn long_words_and_lines_wrap_within_the_width() {
        let lines = wrap(&format!("{} court", "x".repeat(25)), 10);
        assert!(lines.iter().all(|l| l.chars().count() <= 10), "{lines:?}");
        assert_eq!(
            lines.concat().replace(' ', ""),
            format!("{}court", "x".repeat(25))
        );
    }
}
