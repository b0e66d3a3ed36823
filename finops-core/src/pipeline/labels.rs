//! What a report calls each metric and statement line, in French and English.

use super::Language;
use crate::metrics::MetricId;

/// The metric's name as a CPA writes it in a report.
pub fn metric_name(metric: MetricId, language: Language) -> &'static str {
    use MetricId::*;
    let (en, fr) = match metric {
        CurrentRatio => ("Current ratio", "Ratio de liquidité générale"),
        QuickRatio => ("Quick ratio", "Ratio de liquidité relative"),
        CashRatio => ("Cash ratio", "Ratio de liquidité immédiate"),
        WorkingCapital => ("Working capital", "Fonds de roulement"),
        OperatingCashFlowRatio => (
            "Operating cash flow ratio",
            "Ratio des flux de trésorerie d'exploitation",
        ),
        DebtToEquity => (
            "Debt to equity",
            "Ratio d'endettement (dette / capitaux propres)",
        ),
        DebtToAssets => ("Debt to assets", "Dette / actif total"),
        InterestCoverage => ("Interest coverage", "Couverture des intérêts"),
        NetDebtToEbitda => ("Net debt to EBITDA", "Dette nette / BAIIA"),
        GrossMargin => ("Gross margin", "Marge brute"),
        OperatingMargin => ("Operating margin", "Marge d'exploitation"),
        EbitdaMargin => ("EBITDA margin", "Marge de BAIIA"),
        NetMargin => ("Net margin", "Marge nette"),
        EffectiveTaxRate => ("Effective tax rate", "Taux d'imposition effectif"),
        ReturnOnAssets => ("Return on assets", "Rendement de l'actif"),
        ReturnOnEquity => ("Return on equity", "Rendement des capitaux propres"),
        AssetTurnover => ("Asset turnover", "Rotation de l'actif"),
        InventoryTurnover => ("Inventory turnover", "Rotation des stocks"),
        DaysInventoryOutstanding => ("Days inventory outstanding", "Délai de rotation des stocks"),
        DaysSalesOutstanding => ("Days sales outstanding", "Délai moyen de recouvrement"),
        DaysPayablesOutstanding => (
            "Days payables outstanding",
            "Délai moyen de paiement des fournisseurs",
        ),
        CashConversionCycle => (
            "Cash conversion cycle",
            "Cycle de conversion de la trésorerie",
        ),
        RevenueGrowth => ("Revenue growth", "Croissance des revenus"),
        NetIncomeGrowth => ("Net income growth", "Croissance du bénéfice net"),
        FreeCashFlow => ("Free cash flow", "Flux de trésorerie disponible"),
        FreeCashFlowMargin => (
            "Free cash flow margin",
            "Marge de flux de trésorerie disponible",
        ),
    };
    match language {
        Language::En => en,
        Language::Fr => fr,
    }
}

/// The metric's name as the subject that opens a sentence: in French with its article (« La marge brute se
/// dégrade », « Le délai moyen de recouvrement s'améliore »); in English the name itself.
pub fn metric_subject(metric: MetricId, language: Language) -> String {
    use MetricId::*;
    let name = metric_name(metric, language);
    if language == Language::En {
        return name.to_string();
    }
    let article = match metric {
        // A ratio written as a quotient reads as "the ratio".
        DebtToAssets | NetDebtToEbitda => return format!("Le ratio {}", lower_first(name)),
        InterestCoverage | GrossMargin | OperatingMargin | EbitdaMargin | NetMargin
        | AssetTurnover | InventoryTurnover | RevenueGrowth | NetIncomeGrowth
        | FreeCashFlowMargin => "La",
        CurrentRatio
        | QuickRatio
        | CashRatio
        | WorkingCapital
        | OperatingCashFlowRatio
        | DebtToEquity
        | EffectiveTaxRate
        | ReturnOnAssets
        | ReturnOnEquity
        | DaysInventoryOutstanding
        | DaysSalesOutstanding
        | DaysPayablesOutstanding
        | CashConversionCycle
        | FreeCashFlow => "Le",
    };
    format!("{article} {}", lower_first(name))
}

/// The text with its first letter in lower case ("Marge brute" → "marge brute"; "BAIIA" inside is kept).
pub(crate) fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Translates the engine's "not computable" reasons (written in English) for a French report.
pub fn reason(text: &str, language: Language) -> String {
    if language == Language::En {
        return text.to_string();
    }
    const FR: &[(&str, &str)] = &[
        (
            "no cash flow statement for this period",
            "pas d'état des flux de trésorerie pour cette période",
        ),
        (
            "no interest expense: coverage is not defined",
            "aucune charge d'intérêts : la couverture n'est pas définie",
        ),
        (
            "no inventory line in the statements",
            "aucun stock dans les états financiers",
        ),
        (
            "no previous consecutive period in the statements",
            "pas de période précédente consécutive dans les états",
        ),
        (
            "total_equity is zero or negative: the ratio is not meaningful",
            "capitaux propres nuls ou négatifs : le ratio n'a pas de sens",
        ),
        (
            "average total_equity is zero or negative: the return is not meaningful",
            "capitaux propres moyens nuls ou négatifs : le rendement n'a pas de sens",
        ),
        (
            "income before tax is zero or negative: an effective tax rate is not meaningful",
            "bénéfice avant impôts nul ou négatif : le taux effectif n'a pas de sens",
        ),
        (
            "EBITDA is zero or negative: the ratio is not meaningful",
            "BAIIA nul ou négatif : le ratio n'a pas de sens",
        ),
        (
            "no inventory (average inventory is zero)",
            "aucun stock (stock moyen nul)",
        ),
        (
            "total_current_liabilities is zero",
            "passif à court terme nul",
        ),
        ("revenue is zero", "revenus nuls"),
        ("total_assets is zero", "actif total nul"),
        ("average total_assets is zero", "actif total moyen nul"),
        ("cost_of_goods_sold is zero", "coût des ventes nul"),
    ];
    FR.iter()
        .find(|(en, _)| *en == text)
        .map(|(_, fr)| (*fr).to_string())
        .unwrap_or_else(|| text.to_string())
}
