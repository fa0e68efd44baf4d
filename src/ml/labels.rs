//! The 1000 ImageNet class names in model output order (`assets/imagenet-labels.txt`, the ONNX
//! model zoo's `synset.txt`: `synset name[, synonyms]` per line). The first name is the label the
//! page shows and tests compare against; the synonyms travel along for tooltips.

const IMAGENET_SYNSETS: &str = include_str!("../../assets/imagenet-labels.txt");

#[derive(Debug, Clone, PartialEq)]
pub struct ClassName {
    pub name: String,
    pub synonyms: Vec<String>,
}

/// Class names of the ImageNet head, index = output unit.
pub fn imagenet() -> Vec<ClassName> {
    IMAGENET_SYNSETS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse_synset_line)
        .collect()
}

fn parse_synset_line(line: &str) -> ClassName {
    // "n01440764 tench, Tinca tinca": drop the WordNet id, split the names.
    let names = line.split_once(' ').map_or(line, |(_, rest)| rest);
    let mut parts = names
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let name = parts.next().unwrap_or_default();
    ClassName {
        name,
        synonyms: parts.collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousand_classes_in_model_order() {
        let labels = imagenet();
        assert_eq!(labels.len(), 1000);
        assert_eq!(labels[0].name, "tench");
        assert_eq!(labels[0].synonyms, vec!["Tinca tinca"]);
        assert_eq!(labels[130].name, "flamingo");
        assert_eq!(labels[999].name, "toilet tissue");
    }
}
