//! The French Plan comptable général as a chart, by prefix (classes 1 to 7; the first matching rule wins).
//! Class-4 accounts and bank accounts go to an asset or a liability by the side of their balance, as the PCG's
//! balance sheet requires (a bank account in overdraft is a bank borrowing). Depreciation and impairment accounts
//! (28x, 29x, 39x, 49x, 59x) net against the assets they reduce. `docs/ledgers.md` lists the mapping as a table.

use super::chart::{BuiltIn, Target};
use crate::statements::Line::*;

const fn line(l: crate::statements::Line) -> Target {
    Target::Line(l)
}

const fn by_sign(debit: crate::statements::Line, credit: crate::statements::Line) -> Target {
    Target::BySign { debit, credit }
}

pub(crate) const RULES: &[BuiltIn] = &[
    // Class 1: capitaux propres, provisions, emprunts.
    ("10", "14", line(TotalEquity)),
    ("15", "15", line(OtherNonCurrentLiabilities)),
    ("165", "166", line(OtherNonCurrentLiabilities)),
    ("16", "16", line(LongTermDebt)),
    ("17", "18", line(OtherNonCurrentLiabilities)),
    // Class 2: immobilisations, net of amortissements (28x) and dépréciations (29x).
    ("20", "20", line(OtherNonCurrentAssets)),
    ("280", "280", line(OtherNonCurrentAssets)),
    ("290", "290", line(OtherNonCurrentAssets)),
    ("21", "24", line(PropertyPlantEquipment)),
    ("281", "284", line(PropertyPlantEquipment)),
    ("291", "294", line(PropertyPlantEquipment)),
    ("25", "27", line(OtherNonCurrentAssets)),
    ("295", "297", line(OtherNonCurrentAssets)),
    // Class 3: stocks et en-cours, net of 39x.
    ("3", "3", line(Inventory)),
    // Class 4: tiers.
    ("409", "409", line(OtherCurrentAssets)),
    ("40", "40", line(AccountsPayable)),
    ("419", "419", line(OtherCurrentLiabilities)),
    ("41", "41", line(AccountsReceivable)),
    ("491", "491", line(AccountsReceivable)),
    ("486", "486", line(OtherCurrentAssets)),
    ("487", "487", line(OtherCurrentLiabilities)),
    ("49", "49", line(OtherCurrentAssets)),
    (
        "42",
        "48",
        by_sign(OtherCurrentAssets, OtherCurrentLiabilities),
    ),
    // Class 5: financier.
    ("50", "50", line(MarketableSecurities)),
    ("59", "59", line(MarketableSecurities)),
    ("519", "519", line(ShortTermDebt)),
    ("5186", "5186", line(ShortTermDebt)),
    ("51", "51", by_sign(Cash, ShortTermDebt)),
    ("53", "54", line(Cash)),
    ("58", "58", by_sign(Cash, ShortTermDebt)),
    (
        "52",
        "52",
        by_sign(OtherCurrentAssets, OtherCurrentLiabilities),
    ),
    // Class 6: charges.
    ("604", "606", line(OperatingExpenses)),
    ("60", "60", line(CostOfGoodsSold)),
    ("61", "65", line(OperatingExpenses)),
    ("661", "661", line(InterestExpense)),
    ("66", "67", line(OtherIncome)),
    ("6811", "6812", line(DepreciationAmortization)),
    ("686", "687", line(OtherIncome)),
    ("68", "68", line(OperatingExpenses)),
    ("691", "691", line(OperatingExpenses)),
    ("69", "69", line(IncomeTaxExpense)),
    // Class 7: produits.
    ("70", "73", line(Revenue)),
    ("79", "79", line(OperatingExpenses)),
    ("74", "78", line(OtherIncome)),
];

/// The "other" line of an account's class, for the unmapped-as-other option.
pub(crate) fn other_of_class(account: &str) -> Option<Target> {
    Some(match account.as_bytes().first()? {
        b'1' => line(OtherNonCurrentLiabilities),
        b'2' => line(OtherNonCurrentAssets),
        b'3' => line(Inventory),
        b'4' | b'5' => by_sign(OtherCurrentAssets, OtherCurrentLiabilities),
        b'6' => line(OperatingExpenses),
        b'7' => line(OtherIncome),
        _ => return None,
    })
}
