//! The answers of a session as a CSV table, for a spreadsheet or a script: one row per photo on
//! screen with its file name, the model that answered, the five most likely classes and their
//! confidences (0 to 1), whether it looks like one of the person's classes at all (under a
//! personal model; empty under ImageNet), or why it has no answer.

/// How many ranked classes each row lists (the cards' top five).
pub const RANKED: usize = 5;

/// One photo's row.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    pub file: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Ranked classes, most likely first, with their confidences, and the model that answered.
    Answered {
        model: String,
        ranking: Vec<(String, f32)>,
        /// Under a personal model: whether the photo looks like one of its classes.
        known: Option<bool>,
    },
    /// No answer: the reason shown on its card.
    Failed(String),
    /// Still waiting for the engine.
    Waiting,
}

/// The table, a header row first. Commas, quotes and line breaks in names are quoted as RFC 4180
/// says, so any CSV reader gets the names back as they are.
pub fn to_csv(rows: &[ResultRow]) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["file".to_string(), "state".into(), "model".into()];
    for rank in 1..=RANKED {
        header.push(format!("label_{rank}"));
        header.push(format!("confidence_{rank}"));
    }
    header.push("error".into());
    header.push("known".into());
    // Writing to memory cannot fail; a record of the wrong length would be a bug caught by tests.
    out.write_record(&header).expect("the header row");
    for row in rows {
        out.write_record(fields(row)).expect("a result row");
    }
    String::from_utf8(out.into_inner().expect("an in-memory writer")).expect("UTF-8 fields")
}

fn fields(row: &ResultRow) -> Vec<String> {
    let empty_ranking = || vec![String::new(); 2 * RANKED];
    let (state, model, ranking, error, known) = match &row.outcome {
        Outcome::Answered {
            model,
            ranking,
            known,
        } => {
            let mut cells = empty_ranking();
            for (i, (label, confidence)) in ranking.iter().take(RANKED).enumerate() {
                cells[2 * i] = label.clone();
                cells[2 * i + 1] = format!("{confidence:.4}");
            }
            let known = known.map_or(String::new(), |k| k.to_string());
            ("done", model.clone(), cells, String::new(), known)
        }
        Outcome::Failed(reason) => (
            "failed",
            String::new(),
            empty_ranking(),
            reason.clone(),
            String::new(),
        ),
        Outcome::Waiting => (
            "waiting",
            String::new(),
            empty_ranking(),
            String::new(),
            String::new(),
        ),
    };
    let mut out = vec![row.file.clone(), state.to_string(), model];
    out.extend(ranking);
    out.push(error);
    out.push(known);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<Vec<String>> {
        csv::Reader::from_reader(text.as_bytes())
            .records()
            .map(|r| r.expect("a record").iter().map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn each_photo_is_one_row_with_its_ranking_its_model_or_its_reason() {
        let rows = vec![
            ResultRow {
                file: "coyote.jpg".into(),
                outcome: Outcome::Answered {
                    model: "ImageNet (EfficientNet-Lite0)".into(),
                    ranking: vec![
                        ("coyote".into(), 0.7132),
                        ("grey wolf".into(), 0.1),
                        ("red wolf".into(), 0.05),
                        ("kit fox".into(), 0.01),
                        ("dingo".into(), 0.005),
                    ],
                    known: None,
                },
            },
            ResultRow {
                file: "notes.txt".into(),
                outcome: Outcome::Failed("not an image".into()),
            },
            ResultRow {
                file: "later.png".into(),
                outcome: Outcome::Waiting,
            },
        ];
        let text = to_csv(&rows);
        assert!(
            text.starts_with("file,state,model,label_1,confidence_1,"),
            "{text}"
        );
        let records = read(&text);
        assert_eq!(records.len(), 3);
        assert_eq!(
            records[0][..5],
            [
                "coyote.jpg",
                "done",
                "ImageNet (EfficientNet-Lite0)",
                "coyote",
                "0.7132"
            ]
        );
        assert_eq!(records[0][11..13], ["dingo", "0.0050"]);
        assert_eq!(records[1][1], "failed");
        assert_eq!(records[1][13], "not an image");
        assert_eq!(records[2][1..3], ["waiting", ""]);
        assert_eq!(records[0][14], "", "no open-set answer under ImageNet");
        assert!(records.iter().all(|r| r.len() == 3 + 2 * RANKED + 2));
    }

    #[test]
    fn names_with_commas_quotes_and_line_breaks_come_back_as_they_were() {
        let name = "holiday, \"best\"\nshot.jpg";
        let rows = vec![ResultRow {
            file: name.into(),
            outcome: Outcome::Answered {
                model: "personal model".into(),
                ranking: vec![("cat, tabby".into(), 1.0)],
                known: Some(false),
            },
        }];
        let records = read(&to_csv(&rows));
        assert_eq!(records[0][0], name);
        assert_eq!(records[0][3..5], ["cat, tabby", "1.0000"]);
        // Fewer classes than five (a two-class model): the rest of the row is empty.
        assert_eq!(records[0][5..13], vec![String::new(); 8][..]);
        assert_eq!(records[0][14], "false");
    }
}
